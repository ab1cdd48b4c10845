package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and owner of the image's files.
const (
	nonrootID  = 65532
	caBundle   = "/etc/ssl/certs/ca-certificates.crt"
	configPath = "/etc/outagewatch/outagewatch.yaml"
	dataDir    = "/var/lib/outagewatch"
)

// entry is one regular file or directory of a layer.
type entry struct {
	// path is absolute and clean, like /etc/passwd.
	path string
	// dir marks a directory; data is then nil.
	dir bool
	// mode is the permission bits, with the sticky bit (01000) where wanted.
	mode int64
	// uid and gid own the entry.
	uid, gid int
	// data is a regular file's content.
	data []byte
}

// file is a root-owned regular file.
func file(p string, mode int64, data []byte) entry {
	return entry{path: p, mode: mode, data: data}
}

// dir is a directory.
func dir(p string, mode int64, uid, gid int) entry {
	return entry{path: p, dir: true, mode: mode, uid: uid, gid: gid}
}

// baseEntries are the files every platform shares: users, CA bundle, configuration, data
// directory and /tmp. There is deliberately no shell or any other program.
func baseEntries(caCerts, config []byte) []entry {
	return []entry{
		file("/etc/passwd", 0o644, []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n"+
				fmt.Sprintf("nonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", nonrootID, nonrootID, dataDir))),
		file("/etc/group", 0o644, []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonrootID))),
		// Go's resolver reads the hosts line: /etc/hosts first, then DNS.
		file("/etc/nsswitch.conf", 0o644, []byte("hosts: files dns\n")),
		file(caBundle, 0o644, caCerts),
		file(configPath, 0o644, config),
		dir(dataDir, 0o750, nonrootID, nonrootID),
		dir("/tmp", 0o1777, 0, 0),
	}
}

// binaryEntries is the layer of the daemon's binary.
func binaryEntries(bin []byte) []entry {
	return []entry{file(binaryPath, 0o755, bin)}
}

// layerTar is the tar of entries and of their missing parent directories (root's, 0755),
// sorted by path, every time mtime, no user or group names: the same entries always give the
// same bytes.
func layerTar(entries []entry, mtime time.Time) ([]byte, error) {
	byPath := map[string]entry{}
	for _, e := range entries {
		if _, dup := byPath[e.path]; dup {
			return nil, fmt.Errorf("layer: %s twice", e.path)
		}
		byPath[e.path] = e
	}
	for _, e := range entries {
		for p := path.Dir(e.path); p != "/"; p = path.Dir(p) {
			if _, ok := byPath[p]; !ok {
				byPath[p] = dir(p, 0o755, 0, 0)
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := byPath[p]
		h := &tar.Header{
			Name:    strings.TrimPrefix(p, "/"),
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", p, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// newLayer is an OCI gzip layer of the tar bytes in b, compressed once (digest, layout and
// tarball all reuse it). go-containerregistry compresses with compress/gzip, whose output
// depends on the input and the level only.
func newLayer(b []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithCompressedCaching)
}
