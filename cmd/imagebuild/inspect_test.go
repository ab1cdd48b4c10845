package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// testEpoch is the SOURCE_DATE_EPOCH of the tests' builds: 2026-01-01T00:00:00Z.
const testEpoch = "1767225600"

// imagebuildBinary builds this command (without -race, which would make its gzip several times
// slower) into a temporary directory and returns its path.
func imagebuildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imagebuild")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/imagebuild: %v\n%s", err, out)
	}
	return bin
}

// buildForTest runs the imagebuild binary with args plus -out, and SOURCE_DATE_EPOCH=testEpoch
// in its environment, and returns the layout directory and the printed index digest.
func buildForTest(t *testing.T, imagebuild string, args ...string) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "oci")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, imagebuild, append([]string{"-out", out}, args...)...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+testEpoch)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("imagebuild %s:\n%s", strings.Join(args, " "), stderr.String())
	if err != nil {
		t.Fatalf("imagebuild: %v", err)
	}
	return out, strings.TrimSpace(stdout.String())
}

// layoutIndex reads the OCI layout at dir back: index.json must name exactly one image index,
// with the version as its ref.name.
func layoutIndex(t *testing.T, dir string) (v1.ImageIndex, v1.Descriptor) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("layout: %v", err)
	}
	root, err := p.ImageIndex()
	if err != nil {
		t.Fatalf("index.json: %v", err)
	}
	rm, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Manifests) != 1 {
		t.Fatalf("index.json has %d descriptors, want 1 image index", len(rm.Manifests))
	}
	desc := rm.Manifests[0]
	idx, err := root.ImageIndex(desc.Digest)
	if err != nil {
		t.Fatalf("image index %s: %v", desc.Digest, err)
	}
	return idx, desc
}

// tarFile is one entry of a layer.
type tarFile struct {
	hdr  *tar.Header
	data []byte
}

// imageFiles is every entry of img's layers by path (without the leading /), in layer order; a
// path in two layers must be the same directory in both.
func imageFiles(t *testing.T, img v1.Image) map[string]tarFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]tarFile{}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		tr := tar.NewReader(rc)
		prev := ""
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			name := strings.TrimSuffix(h.Name, "/")
			if name <= prev {
				t.Errorf("layer %d: %s after %s: entries not sorted", i, name, prev)
			}
			prev = name
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("layer %d: %s: %v", i, name, err)
			}
			if old, ok := files[name]; ok && (old.hdr.Typeflag != tar.TypeDir || h.Typeflag != tar.TypeDir || old.hdr.Mode != h.Mode) {
				t.Errorf("%s differs between layers", name)
			}
			files[name] = tarFile{hdr: h, data: data}
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return files
}
