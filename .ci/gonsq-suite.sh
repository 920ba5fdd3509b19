#!/usr/bin/env bash
# Runs go-nsq v1.1.0's own test suite (its _test.go files, from the Go module
# proxy, not committed here) against our nsqd, the way go-nsq's test.sh does:
# an nsqd on 127.0.0.1:4150/4151, then `go test` in the module's directory.
# The broker gets go-nsq's own test certificates, as its test.sh does, so
# the TLS, snappy and deflate tests run too.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
nsqd="$root/bin/nsqd"
work="$(mktemp -d)"
trap 'kill -TERM "${pid:-0}" 2>/dev/null || true; wait "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

src="$(cd "$root" && go mod download -json github.com/nsqio/go-nsq@v1.1.0 | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
cp -r "$src" "$work/go-nsq"
chmod -R u+w "$work/go-nsq"
mkdir -p "$work/data"
t="$work/go-nsq/test"
"$nsqd" --tcp-address=127.0.0.1:4150 --http-address=127.0.0.1:4151 --data-path="$work/data" \
    --tls-cert="$t/server.pem" --tls-key="$t/server.key" --tls-root-ca-file="$t/ca.pem" --https-address=127.0.0.1:0 \
    >"$work/nsqd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    if curl -sf http://127.0.0.1:4151/ping >/dev/null 2>&1; then break; fi
    sleep 0.1
done
cd "$work/go-nsq"
if ! go test -v -count=1 -timeout 120s . 2>&1 | tee "$work/test.log" | grep -E "^(--- |ok|FAIL|PASS)" || ! grep -q "^ok" "$work/test.log"; then
    echo "--- nsqd log ---"; tail -50 "$work/nsqd.log"
    exit 1
fi
