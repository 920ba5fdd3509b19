#!/bin/sh
# Issue 17's full count: 10,000 concurrent slow HTTP clients (one header
# byte a second) against nsqd's HTTP server, then nsqlookupd's, each a
# separate process built from this tree, so that the test process holds
# only the clients' 10,000 descriptors. Both must close every client at
# their header timeout (10s) while GET /ping keeps answering.
# Usage: bench/scripts/slow_http_clients.sh [clients]   (from the repository root)
set -eu
K=${1:-10000}
go build -o bin/ ./cmd/nsqd ./cmd/nsqlookupd
DATA=$(mktemp -d)
bin/nsqd --data-path="$DATA" --tcp-address=127.0.0.1:24150 --http-address=127.0.0.1:24151 --log-level=error &
NSQD=$!
bin/nsqlookupd --tcp-address=127.0.0.1:24160 --http-address=127.0.0.1:24161 --log-level=error &
LOOKUPD=$!
trap 'kill $NSQD $LOOKUPD 2>/dev/null; wait $NSQD $LOOKUPD 2>/dev/null; rm -rf "$DATA"' EXIT INT TERM
for i in $(seq 50); do
  curl -sf http://127.0.0.1:24151/ping >/dev/null && curl -sf http://127.0.0.1:24161/ping >/dev/null && break
  sleep 0.1
done
HOSTILE_HTTP_ADDRS=127.0.0.1:24151,127.0.0.1:24161 HOSTILE_HTTP_CLIENTS=$K \
  go test -count=1 -timeout 10m -run '^TestHostileHTTPSlowClientsExternal$' -v ./engine/nsqd/
