#!/usr/bin/env bash
# Runs the whole test suite: vet, then every package's tests under the race
# detector, for the core module and then the adapter modules. Extra
# arguments go to `go test` (e.g. -run Exchange).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
  echo "test.sh: Go is not installed (https://go.dev/dl/)" >&2
  exit 1
fi
if ! command -v openssl >/dev/null 2>&1; then
  echo "test.sh: openssl not found; TLS interoperability tests will skip" >&2
fi

echo "== go vet ./..."
go vet ./...
echo "== go test -race ./..."
go test -race -count=1 -timeout 15m "$@" ./...

# The hashicorp/raft adapter is a module of its own (the core module does
# not depend on raft): vet and test it in its directory.
echo "== adapters/hashicorpraft: go vet ./..."
(cd adapters/hashicorpraft && go vet ./...)
echo "== adapters/hashicorpraft: go test -race ./..."
(cd adapters/hashicorpraft && go test -race -count=1 -timeout 10m "$@" ./...)

# The Prometheus collector is a module of its own too (the core module does
# not depend on client_golang).
echo "== adapters/prometheus: go vet ./..."
(cd adapters/prometheus && go vet ./...)
echo "== adapters/prometheus: go test -race ./..."
(cd adapters/prometheus && go test -race -count=1 -timeout 10m "$@" ./...)
