#!/usr/bin/env bash
# outagewatch's release, with the GoReleaser pinned in tools/release/go.mod (built once into the
# cache by scripts/goreleaser.sh) and the configuration .goreleaser.yaml; see
# docs/deploy.md.
#
#   scripts/release.sh            # goreleaser check: is .goreleaser.yaml valid?
#   scripts/release.sh snapshot   # check, then a full local release into dist/ (nothing published)
#   scripts/release.sh release    # check, then the real release of the tag at HEAD
#
# What a release makes: dist/ holds the tar.gz archives (linux, darwin x amd64, arm64), the deb
# and rpm (amd64, arm64), the SBOMs and the checksums; bin/release-image/ holds the container
# image (an OCI layout and its tarball, from go run ./cmd/imagebuild), which the checksums and
# the GitHub release include.
#
# SBOMs are made by syft, which GoReleaser runs from PATH and which is not installed here: a
# snapshot without syft skips them (and says so); a real release refuses to start without it.
# A real release also needs GITHUB_TOKEN and a clean tree at a tag (vX.Y.Z).
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-check}"
case "$mode" in
  check|snapshot|release) ;;
  *) echo "usage: scripts/release.sh [check|snapshot|release]" >&2; exit 2 ;;
esac

goreleaser=$(scripts/goreleaser.sh | tail -n 1)
echo "== goreleaser check ($goreleaser)"
"$goreleaser" check -f .goreleaser.yaml

case "$mode" in
  check)
    ;;
  snapshot)
    skip=()
    if ! command -v syft >/dev/null 2>&1; then
      echo "release.sh: syft is not on PATH: this snapshot has no SBOMs (a real release needs syft)" >&2
      skip=(--skip=sbom)
    fi
    echo "== goreleaser release --snapshot --clean ${skip[*]}"
    "$goreleaser" release -f .goreleaser.yaml --snapshot --clean "${skip[@]}"
    ;;
  release)
    command -v syft >/dev/null 2>&1 || { echo "release.sh: syft must be on PATH for a release (SBOMs)" >&2; exit 1; }
    [ -n "${GITHUB_TOKEN:-}" ] || { echo "release.sh: GITHUB_TOKEN must be set for a release" >&2; exit 1; }
    echo "== goreleaser release --clean"
    "$goreleaser" release -f .goreleaser.yaml --clean
    ;;
esac
