package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxCompressedSize bounds what pulling one platform's image moves (about 11 MB in 2026-12).
const maxCompressedSize = 60 << 20

// TestImage builds the image of both platforms twice (SOURCE_DATE_EPOCH from the environment,
// then from the flag), checks that the two index digests are equal, and reads the first layout
// back: config, layers, binary and sizes of each platform, and the -tar tarball.
func TestImage(t *testing.T) {
	imagebuild := imagebuildBinary(t)
	start := time.Now()
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	dir, digest := buildForTest(t, imagebuild, "-tar", tarPath, "-version", "1.2.3", "-revision", "abc123")
	t.Logf("first build: %s in %s", digest, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	_, again := buildForTest(t, imagebuild, "-version", "1.2.3", "-revision", "abc123", "-source-date-epoch", testEpoch)
	t.Logf("second build: %s in %s", again, time.Since(start).Round(time.Millisecond))
	if again != digest {
		t.Errorf("two builds of the same tree: index %s, then %s; the build is not reproducible", digest, again)
	}

	idx, desc := layoutIndex(t, dir)
	if got, _ := idx.Digest(); got.String() != digest {
		t.Errorf("layout's index is %s, imagebuild printed %s", got, digest)
	}
	if desc.MediaType != types.OCIImageIndex || desc.Annotations["org.opencontainers.image.ref.name"] != "1.2.3" {
		t.Errorf("index.json descriptor: media type %s, annotations %v", desc.MediaType, desc.Annotations)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, "index annotations", im.Annotations)
	var archs []string
	for _, m := range im.Manifests {
		archs = append(archs, m.Platform.OS+"/"+m.Platform.Architecture)
		t.Run(m.Platform.Architecture, func(t *testing.T) {
			img, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkPlatform(t, img, *m.Platform)
		})
	}
	if !slices.Equal(archs, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index platforms %v, want linux/amd64 and linux/arm64", archs)
	}
	checkTarball(t, tarPath, idx, im)
}

// checkPlatform checks one platform's image: media types, config, files and size.
func checkPlatform(t *testing.T, img v1.Image, p v1.Platform) {
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 2 {
		t.Errorf("manifest: %s, config %s, %d layers; want OCI types and 2 layers", m.MediaType, m.Config.MediaType, len(m.Layers))
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
		if l.MediaType != types.OCILayer {
			t.Errorf("layer %s: media type %s", l.Digest, l.MediaType)
		}
	}
	t.Logf("%s/%s: %.1f MB compressed (config + %d layers)", p.OS, p.Architecture, float64(size)/1e6, len(m.Layers))
	if size > maxCompressedSize {
		t.Errorf("%s/%s: %d bytes compressed, over the %d bound", p.OS, p.Architecture, size, maxCompressedSize)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != p.OS || cf.Architecture != p.Architecture || cf.Created.UTC().Format(time.RFC3339) != "2026-01-01T00:00:00Z" {
		t.Errorf("config: %s/%s created %s", cf.OS, cf.Architecture, cf.Created)
	}
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/usr/bin/outagewatch"}) || len(c.Cmd) != 0 || c.WorkingDir != "/var/lib/outagewatch" {
		t.Errorf("config: user %q, entrypoint %q, cmd %q, workdir %q", c.User, c.Entrypoint, c.Cmd, c.WorkingDir)
	}
	if !slices.Contains(c.Env, "OUTAGEWATCH_CONFIG=/etc/outagewatch/outagewatch.yaml") {
		t.Errorf("config env %q lacks OUTAGEWATCH_CONFIG", c.Env)
	}
	var ports []string
	for port := range c.ExposedPorts {
		ports = append(ports, port)
	}
	slices.Sort(ports)
	if !slices.Equal(ports, []string{"4317/tcp", "4318/tcp", "9317/tcp"}) {
		t.Errorf("exposed ports %v", ports)
	}
	if _, ok := c.Volumes["/var/lib/outagewatch"]; !ok || len(c.Volumes) != 1 {
		t.Errorf("volumes %v, want /var/lib/outagewatch", c.Volumes)
	}
	checkLabels(t, "config labels", c.Labels)
	checkFiles(t, imageFiles(t, img), p)
}

// checkLabels checks the org.opencontainers.image labels of a build with version 1.2.3 and
// revision abc123.
func checkLabels(t *testing.T, what string, labels map[string]string) {
	t.Helper()
	want := map[string]string{
		"title":       "outagewatch",
		"source":      "https://github.com/outagewatch/outagewatch",
		"licenses":    "NOASSERTION",
		"version":     "1.2.3",
		"revision":    "abc123",
		"created":     "2026-01-01T00:00:00Z",
		"description": labels["org.opencontainers.image.description"],
	}
	for k, v := range want {
		if got := labels["org.opencontainers.image."+k]; got != v || got == "" {
			t.Errorf("%s: org.opencontainers.image.%s = %q, want %q", what, k, got, v)
		}
	}
}

// checkFiles checks the image's file system: owners, modes and times; no shell or any program
// but the daemon; the daemon's ELF machine and build settings; CA bundle, configuration, users,
// data directory and /tmp.
func checkFiles(t *testing.T, files map[string]tarFile, p v1.Platform) {
	for name, f := range files {
		h := f.hdr
		if h.ModTime.Unix() != 1767225600 {
			t.Errorf("%s: mtime %s", name, h.ModTime)
		}
		if name != "var/lib/outagewatch" && (h.Uid != 0 || h.Gid != 0) {
			t.Errorf("%s: owner %d:%d, want 0:0", name, h.Uid, h.Gid)
		}
		if h.Typeflag != tar.TypeDir && h.Typeflag != tar.TypeReg {
			t.Errorf("%s: type %c: only files and directories belong here", name, h.Typeflag)
		}
		if h.Typeflag == tar.TypeReg && h.Mode&0o111 != 0 && name != "usr/bin/outagewatch" {
			t.Errorf("%s: an executable besides the daemon", name)
		}
		switch path.Base(name) {
		case "sh", "bash", "ash", "dash", "zsh", "busybox", "toybox":
			t.Errorf("%s: a shell in the image", name)
		}
	}
	for _, d := range []string{"bin", "sbin", "usr/sbin"} {
		if _, ok := files[d]; ok {
			t.Errorf("%s exists", d)
		}
	}
	mode := func(name string, typ byte, want int64, uid int) {
		t.Helper()
		f, ok := files[name]
		switch {
		case !ok:
			t.Errorf("/%s missing", name)
		case f.hdr.Typeflag != typ || f.hdr.Mode != want || f.hdr.Uid != uid || f.hdr.Gid != uid:
			t.Errorf("/%s: type %c mode %o owner %d:%d, want type %c mode %o owner %d:%d",
				name, f.hdr.Typeflag, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid, typ, want, uid, uid)
		}
	}
	mode("usr/bin/outagewatch", tar.TypeReg, 0o755, 0)
	mode("etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, 0)
	mode("etc/outagewatch/outagewatch.yaml", tar.TypeReg, 0o644, 0)
	mode("etc/passwd", tar.TypeReg, 0o644, 0)
	mode("etc/group", tar.TypeReg, 0o644, 0)
	mode("var/lib/outagewatch", tar.TypeDir, 0o750, 65532)
	mode("tmp", tar.TypeDir, 0o1777, 0)

	hostCA, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["etc/ssl/certs/ca-certificates.crt"].data, hostCA) || !bytes.Contains(hostCA, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("the CA bundle is not the build machine's")
	}
	config, err := os.ReadFile("../../deploy/outagewatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["etc/outagewatch/outagewatch.yaml"].data, config) {
		t.Errorf("/etc/outagewatch/outagewatch.yaml is not deploy/outagewatch.yaml")
	}
	if !strings.Contains(string(files["etc/passwd"].data), "\nnonroot:x:65532:65532:") ||
		!strings.Contains(string(files["etc/group"].data), "\nnonroot:x:65532:") {
		t.Errorf("passwd %q, group %q: no nonroot 65532", files["etc/passwd"].data, files["etc/group"].data)
	}
	checkBinary(t, files["usr/bin/outagewatch"].data, p, config)
}

// checkBinary checks the daemon: a static ELF for p's machine, built from ./cmd/watcher without
// cgo, with -trimpath and the embedded time zone database; on the build machine's platform it
// also accepts the packaged configuration (-config.check).
func checkBinary(t *testing.T, bin []byte, p v1.Platform, config []byte) {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("/usr/bin/outagewatch: %v", err)
	}
	wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Architecture]
	if f.Machine != wantMachine {
		t.Errorf("ELF machine %s, want %s", f.Machine, wantMachine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("dynamically linked: the image has no loader")
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("symbol table present: -ldflags -s missing")
	}
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	want := map[string]string{"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": p.Architecture, "-trimpath": "true", "-tags": "timetzdata"}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("build setting %s = %q, want %q", k, settings[k], v)
		}
	}
	if info.Path != "github.com/outagewatch/outagewatch/cmd/watcher" {
		t.Errorf("binary of %s", info.Path)
	}
	if !bytes.Contains(bin, []byte("America/New_York")) || !bytes.Contains(bin, []byte("TZif")) {
		t.Errorf("no embedded time zone database")
	}
	if p.OS != runtime.GOOS || p.Architecture != runtime.GOARCH {
		return
	}
	dir := t.TempDir()
	exe, yaml := filepath.Join(dir, "outagewatch"), filepath.Join(dir, "outagewatch.yaml")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(yaml, config, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-config.check", "-config", yaml)
	cmd.Env = []string{}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("outagewatch -config.check: %v: %s", err, out)
	}
}

// checkTarball checks that the -tar tarball holds the linux/amd64 image of the index (same config
// and layers).
func checkTarball(t *testing.T, tarPath string, idx v1.ImageIndex, im *v1.IndexManifest) {
	t.Helper()
	var want v1.Image
	for _, m := range im.Manifests {
		if m.Platform.Architecture == runtime.GOARCH {
			img, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			want = img
		}
	}
	if want == nil {
		t.Fatalf("no %s image in the index", runtime.GOARCH)
	}
	got, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatalf("-tar: %v", err)
	}
	for _, img := range []v1.Image{got, want} {
		if _, err := img.ConfigName(); err != nil {
			t.Fatal(err)
		}
	}
	gc, _ := got.ConfigName()
	wc, _ := want.ConfigName()
	gl, _ := got.Layers()
	wl, _ := want.Layers()
	if gc != wc || len(gl) != len(wl) {
		t.Errorf("tarball: config %s with %d layers, index's %s image: config %s with %d layers", gc, len(gl), runtime.GOARCH, wc, len(wl))
	}
}
