package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOptions checks the command line's defaults and its refusals, without building.
func TestOptions(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	o, err := parseOptions(ctx, []string{"-out", "x", "-source-date-epoch", "86400"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(o.root, "deploy", "outagewatch.yaml")); err != nil {
		t.Errorf("root %s: %v", o.root, err)
	}
	if len(o.platforms) != 2 || o.platforms[1] != (platform{OS: "linux", Arch: "arm64", Variant: "v8"}) {
		t.Errorf("platforms %v", o.platforms)
	}
	if !o.epoch.Equal(time.Unix(86400, 0)) || o.tag != "localhost/outagewatch:dev" || o.revision == "" {
		t.Errorf("epoch %s, tag %s, revision %q", o.epoch, o.tag, o.revision)
	}
	env := func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "42"
		}
		return ""
	}
	if o, err := parseOptions(ctx, []string{"-out", "x"}, env, io.Discard); err != nil || o.epoch.Unix() != 42 {
		t.Errorf("SOURCE_DATE_EPOCH=42: epoch %s, %v", o.epoch, err)
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "old"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{nil, "-out is required"},
		{[]string{"-out", "x", "-platforms", "linux/386"}, "want linux/amd64 or linux/arm64"},
		{[]string{"-out", "x", "-source-date-epoch", "yesterday"}, "whole seconds"},
		{[]string{"-out", "x", "-platforms", "linux/arm64", "-tar", "t", "-tar-platform", "linux/amd64"}, "not one of -platforms"},
		{[]string{"-out", full}, "is not empty"},
	} {
		err := run(ctx, bad.args, noEnv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("imagebuild %q: %v, want an error with %q", bad.args, err, bad.want)
		}
	}
}
