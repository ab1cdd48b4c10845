// Command imagebuild builds outagewatch's container image without a Docker daemon or a base
// image: a FROM-scratch, non-root (65532:65532) image for linux/amd64 and linux/arm64, made
// with go-containerregistry and written as an OCI image layout directory holding one image index
// of both platforms, and optionally as a tarball of one platform for `podman load` or
// `docker load`.
//
// The build is reproducible: the binaries are built with CGO_ENABLED=0, -trimpath, -buildvcs=false
// and -ldflags "-s -w -buildid=", every tar entry has a fixed time (SOURCE_DATE_EPOCH, else the
// HEAD commit's time, else 1970-01-01), uid/gid 0 unless it belongs to the daemon, and entries are
// sorted, so two builds of the same tree give the same digests.
//
//	go run ./cmd/imagebuild -out /tmp/outagewatch-oci -tar /tmp/outagewatch.tar
//	podman load -i /tmp/outagewatch.tar
//
// The last line on stdout is the image index's digest; progress goes to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		stop()
		os.Exit(1)
	}
}

// run parses args, builds the image and prints the index digest on stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opts, err := parseOptions(ctx, args, getenv, stderr)
	if err != nil {
		return err
	}
	res, err := build(ctx, opts)
	if err != nil {
		return err
	}
	for _, p := range res.Platforms {
		fmt.Fprintf(stderr, "imagebuild: %s manifest %s, %d bytes compressed\n", p.Platform, p.Digest, p.CompressedSize)
	}
	if opts.tar != "" {
		fmt.Fprintf(stderr, "imagebuild: wrote %s (%s, tag %s)\n", opts.tar, opts.tarPlatform, opts.tag)
	}
	fmt.Fprintf(stderr, "imagebuild: wrote the OCI layout %s\n", opts.out)
	fmt.Fprintln(stdout, res.IndexDigest)
	return nil
}

// parseOptions reads the flags in args and fills in the defaults that need git or the go command.
func parseOptions(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var platforms, epoch string
	fs.StringVar(&o.out, "out", "", "write the OCI image layout (index of all platforms) into this directory (required; must not exist or be empty)")
	fs.StringVar(&o.tar, "tar", "", "also write one platform's image as a tarball for `podman load` / `docker load`")
	fs.StringVar(&o.tarPlatform, "tar-platform", "linux/"+runtime.GOARCH, "the platform of -tar")
	fs.StringVar(&o.tag, "tag", "", "the image name in the -tar tarball and the layout's ref (default localhost/outagewatch:<version>)")
	fs.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated platforms of the index")
	fs.StringVar(&o.root, "root", "", "the module's root directory (default: the go.mod's directory above the working directory)")
	fs.StringVar(&o.version, "version", "dev", "org.opencontainers.image.version")
	fs.StringVar(&o.revision, "revision", "", "org.opencontainers.image.revision (default: git rev-parse HEAD, else \"unknown\")")
	fs.StringVar(&o.licenses, "licenses", "NOASSERTION", "org.opencontainers.image.licenses (an SPDX expression)")
	fs.StringVar(&epoch, "source-date-epoch", "", "seconds since 1970 for every time in the image (default: $SOURCE_DATE_EPOCH, else the HEAD commit's time, else 0)")
	fs.StringVar(&o.goCmd, "go", "go", "the go command that builds the binaries")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.out == "" {
		return options{}, errors.New("-out is required")
	}
	for _, s := range strings.Split(platforms, ",") {
		p, err := parsePlatform(strings.TrimSpace(s))
		if err != nil {
			return options{}, err
		}
		o.platforms = append(o.platforms, p)
	}
	o.log = stderr
	if epoch == "" {
		epoch = getenv("SOURCE_DATE_EPOCH")
	}
	return o.complete(ctx, epoch)
}
