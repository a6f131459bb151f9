#!/usr/bin/env bash
# Runs the whole test suite: vet, then every package's tests under the race
# detector. Extra arguments go to `go test` (e.g. -run Exchange).
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
