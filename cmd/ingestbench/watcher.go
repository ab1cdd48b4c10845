package main

import "fmt"

// watcherConfig is the YAML of a run. Info is the lowest log level that still logs the bound
// addresses; JSON makes that line parseable without a regexp (watcherproc.Start needs both).
func watcherConfig(fastPath bool) string {
	return fmt.Sprintf("log:\n  level: info\n  format: json\ningest:\n  fast_path: %t\n", fastPath)
}
