package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image metadata.
const (
	imageTitle       = "outagewatch"
	imageDescription = "OTLP daemon that detects LLM provider outages from the traces of LLM calls"
	imageSource      = "https://github.com/outagewatch/outagewatch"
	// hostCABundle is the build machine's CA bundle (Debian's package ca-certificates).
	hostCABundle = "/etc/ssl/certs/ca-certificates.crt"
	// packagedConfig is the packaged configuration, relative to the module's root.
	packagedConfig = "deploy/outagewatch.yaml"
)

// exposedPorts are OTLP/gRPC, OTLP/HTTP and the API (health, incidents, /metrics, /readyz).
func exposedPorts() []string { return []string{"4317/tcp", "4318/tcp", "9317/tcp"} }

// result is what a build wrote.
type result struct {
	// IndexDigest is the digest of the image index of all platforms.
	IndexDigest v1.Hash
	// Platforms are the platforms' images, in the order of options.platforms.
	Platforms []platformResult
}

// platformResult is one platform's image.
type platformResult struct {
	Platform platform
	// Digest is the image manifest's digest.
	Digest v1.Hash
	// CompressedSize is what a pull moves: manifest, config and compressed layers, in bytes.
	CompressedSize int64
}

// build compiles the daemon for every platform, assembles the images and their index, and writes
// the OCI layout (and the tarball when asked).
func build(ctx context.Context, o options) (result, error) {
	start := time.Now()
	if err := checkEmptyDir(o.out); err != nil {
		return result{}, err
	}
	caCerts, err := os.ReadFile(hostCABundle)
	if err != nil {
		return result{}, fmt.Errorf("CA bundle (install Debian's ca-certificates): %w", err)
	}
	configFile := filepath.Join(o.root, packagedConfig)
	config, err := os.ReadFile(configFile)
	if err != nil {
		return result{}, err
	}
	baseTar, err := layerTar(baseEntries(caCerts, config), o.epoch)
	if err != nil {
		return result{}, err
	}
	base, err := newLayer(baseTar)
	if err != nil {
		return result{}, err
	}
	work, err := os.MkdirTemp("", "imagebuild-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(work)

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var res result
	var tarImage v1.Image
	for _, p := range o.platforms {
		bin, err := compile(ctx, o, p, work)
		if err != nil {
			return result{}, err
		}
		if err := checkConfig(ctx, bin, p, configFile); err != nil {
			return result{}, err
		}
		img, err := platformImage(o, p, base, bin)
		if err != nil {
			return result{}, err
		}
		pr, err := describe(p, img)
		if err != nil {
			return result{}, err
		}
		res.Platforms = append(res.Platforms, pr)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch, Variant: p.Variant},
		}})
		if o.tar != "" && p.String() == o.tarPlatform {
			tarImage = img
		}
	}
	idx, ok := mutate.Annotations(idx, labels(o)).(v1.ImageIndex)
	if !ok {
		return result{}, fmt.Errorf("annotating the index lost its type")
	}
	if res.IndexDigest, err = idx.Digest(); err != nil {
		return result{}, err
	}
	lp, err := layout.Write(o.out, empty.Index)
	if err != nil {
		return result{}, err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": o.version,
	})); err != nil {
		return result{}, fmt.Errorf("write %s: %w", o.out, err)
	}
	if tarImage != nil {
		tag, err := name.NewTag(o.tag)
		if err != nil {
			return result{}, fmt.Errorf("-tag: %w", err)
		}
		if err := tarball.WriteToFile(o.tar, tag, tarImage); err != nil {
			return result{}, fmt.Errorf("write %s: %w", o.tar, err)
		}
	}
	fmt.Fprintf(o.log, "imagebuild: %d platforms in %.1fs\n", len(o.platforms), time.Since(start).Seconds())
	return res, nil
}

// platformImage is the image of p: the shared base layer, then the binary bin.
func platformImage(o options, p platform, base v1.Layer, bin string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	binTar, err := layerTar(binaryEntries(data), o.epoch)
	if err != nil {
		return nil, err
	}
	binLayer, err := newLayer(binTar)
	if err != nil {
		return nil, err
	}
	ports := map[string]struct{}{}
	for _, port := range exposedPorts() {
		ports[port] = struct{}{}
	}
	created := v1.Time{Time: o.epoch}
	cfg := &v1.ConfigFile{
		Architecture: p.Arch,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      created,
		Config: v1.Config{
			User:       strconv.Itoa(nonrootID) + ":" + strconv.Itoa(nonrootID),
			Entrypoint: []string{binaryPath},
			// Go finds the CA bundle at /etc/ssl/certs/ca-certificates.crt by itself (the first
			// place it looks on Linux), so SSL_CERT_FILE is not needed.
			Env: []string{
				"PATH=/usr/bin",
				"OUTAGEWATCH_CONFIG=" + configPath,
			},
			ExposedPorts: ports,
			Volumes:      map[string]struct{}{dataDir: {}},
			WorkingDir:   dataDir,
			Labels:       labels(o),
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "imagebuild: users, CA certificates, configuration, data directory, /tmp",
		}},
		mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "imagebuild: " + binaryPath + " (./cmd/watcher, " + p.String() + ")",
		}},
	)
}

// labels are the org.opencontainers.image labels of the config and the index's annotations.
func labels(o options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       imageTitle,
		"org.opencontainers.image.description": imageDescription,
		"org.opencontainers.image.source":      imageSource,
		"org.opencontainers.image.licenses":    o.licenses,
		"org.opencontainers.image.version":     o.version,
		"org.opencontainers.image.revision":    o.revision,
		"org.opencontainers.image.created":     o.epoch.Format(time.RFC3339),
	}
}

// describe is p's manifest digest and pull size.
func describe(p platform, img v1.Image) (platformResult, error) {
	digest, err := img.Digest()
	if err != nil {
		return platformResult{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return platformResult{}, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return platformResult{}, err
	}
	size := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return platformResult{Platform: p, Digest: digest, CompressedSize: size}, nil
}

// checkEmptyDir fails unless dir is absent or empty: a layout over an old one would keep its
// blobs.
func checkEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("-out %s is not empty", dir)
	}
	return nil
}
