//go:build !unix

package pgtest

import "os/exec"

// prepareDir has nothing to do where there is no root to refuse.
func prepareDir(string) error { return nil }

// runAsOwner has nothing to do where there is no root to refuse.
func runAsOwner(*exec.Cmd) error { return nil }

// processAlive cannot tell here, so it never lets a cluster be taken for an orphan.
func processAlive(int) bool { return true }
