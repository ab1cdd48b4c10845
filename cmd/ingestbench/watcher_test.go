package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWatcherConfigDecodePath(t *testing.T) {
	t.Parallel()
	require.Contains(t, watcherConfig(true), "fast_path: true")
	require.Contains(t, watcherConfig(false), "fast_path: false")
}
