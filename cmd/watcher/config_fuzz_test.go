package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzLoadConfig loads arbitrary files: loadConfig must never panic, and must return either a
// valid configuration or an error with the zero Config, never both nor neither.
func FuzzLoadConfig(f *testing.F) {
	paths, err := filepath.Glob("testdata/config/*/*.yaml")
	require.NoError(f, err)
	require.NotEmpty(f, paths)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "watcher.yaml")
		require.NoError(t, os.WriteFile(path, data, 0o600))
		cfg, _, err := loadConfig([]string{"-config", path}, func(string) string { return "" })
		if err != nil {
			require.Equal(t, Config{}, cfg)
			return
		}
		require.NoError(t, cfg.Validate())
	})
}
