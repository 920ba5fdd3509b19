# The two commands a new machine needs: `make run` and `make test`.
GO        ?= go
BIN       := bin
BINARIES  := nsqd nsqlookupd nsqadmin nsq_tail to_nsq nsq_stat nsq_to_file nsq_to_http nsq_to_nsq
DATA      ?= $(CURDIR)/data
GOFLAGS   ?=
export GOFLAGS

.PHONY: torture deps all build run test test-unit test-gonsq lint bench bench-compare bench-targets bench-sweep fuzz clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

# Builds and starts a local cluster of one: nsqlookupd (TCP 4160, HTTP
# 4161), then an nsqd (TCP 4150, HTTP 4151, data in ./data/nsqd)
# registered with it, then nsqadmin (http://127.0.0.1:4171) reading the
# cluster from nsqlookupd. Everything listens on 127.0.0.1 and broadcasts
# 127.0.0.1, so consumers that find nsqd through nsqlookupd can reach it.
# Ctrl-C stops them all.
run: build
	@mkdir -p $(DATA)/nsqd
	@echo "nsqlookupd: tcp 127.0.0.1:4160  http http://127.0.0.1:4161"
	@echo "nsqd:       tcp 127.0.0.1:4150  http http://127.0.0.1:4151  data $(DATA)/nsqd  (registered with nsqlookupd)"
	@echo "nsqadmin:   http://127.0.0.1:4171  (the web UI)"
	@$(BIN)/nsqlookupd --tcp-address=127.0.0.1:4160 --http-address=127.0.0.1:4161 --broadcast-address=127.0.0.1 & lookupd=$$!; \
	  $(BIN)/nsqd --tcp-address=127.0.0.1:4150 --http-address=127.0.0.1:4151 --data-path=$(DATA)/nsqd \
	    --broadcast-address=127.0.0.1 --lookupd-tcp-address=127.0.0.1:4160 & nsqd=$$!; \
	  $(BIN)/nsqadmin --http-address=127.0.0.1:4171 --lookupd-http-address=127.0.0.1:4161 & admin=$$!; \
	  trap 'kill $$admin $$nsqd $$lookupd 2>/dev/null; wait $$admin $$nsqd $$lookupd' EXIT INT TERM; \
	  wait $$nsqd

# Installs what the tests need (curl, Debian's chromium for nsqadmin's
# browser tests), then runs every test: formatting and vet, the unit and
# integration tests with the race detector (nsqadmin's UI driven in
# headless chromium among them), and go-nsq's own test suite against the
# built nsqd.
test: deps lint test-unit build test-gonsq

deps:
	@command -v curl >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq curl >/dev/null)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium could not be installed: the browser tests of nsqadmin (admin/uitest) will be skipped"
	$(GO) mod download

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-unit:
	$(GO) test -race -count=1 -timeout 15m ./...
	# the zero-allocation proofs are built without the race detector
	$(GO) test -count=1 -timeout 5m -run 'Alloc' ./...

test-gonsq: build
	./.ci/gonsq-suite.sh

# Builds nsqd and nsq_bench and runs every scenario against bin/nsqd, each
# on a freshly started broker with a fresh data path; the report
# (report.md, report.json with every raw figure, SVG charts) goes to
# bench/results/<date-time>/. More flags through BENCH_FLAGS, e.g.
# BENCH_FLAGS="--duration=5s --scenarios=pub,sub --profile". See
# docs/BENCHMARKS.md.
BENCH_OUT   ?= bench/results/$(shell date +%Y%m%d-%H%M%S)
BENCH_FLAGS ?=
ROUNDS      ?= 3
REF_NAME    ?= ref

bench: build
	$(GO) build -o $(BIN)/nsq_bench ./cmd/nsq_bench
	$(BIN)/nsq_bench --nsqd-bin=$(BIN)/nsqd --out=$(BENCH_OUT) $(BENCH_FLAGS)

# Side by side: every scenario against bin/nsqd and REF_NSQD in turn,
# alternating over ROUNDS rounds on identical flags and fresh data paths;
# the report gives each figure's median and spread for both and the ratio.
bench-compare: build
	@test -n "$(REF_NSQD)" || { echo "usage: make bench-compare REF_NSQD=/path/to/another/nsqd [ROUNDS=3] [REF_NAME=upstream] [BENCH_FLAGS=...]"; exit 2; }
	$(GO) build -o $(BIN)/nsq_bench ./cmd/nsq_bench
	$(BIN)/nsq_bench --nsqd-bin=$(BIN)/nsqd --ref-nsqd=$(REF_NSQD) --ref-name=$(REF_NAME) --rounds=$(ROUNDS) --out=$(BENCH_OUT) $(BENCH_FLAGS)

# The performance targets of issue 6, each against bin/nsqd and REF_NSQD
# over ROUNDS alternating rounds, plus the load client's own ceiling:
# targets.md, targets.json and targets.svg in BENCH_OUT. More flags through
# BENCH_FLAGS (e.g. --only=mpub,drain --duration=5s --profile).
bench-targets: build
	@test -n "$(REF_NSQD)" || { echo "usage: make bench-targets REF_NSQD=/path/to/upstream/nsqd [ROUNDS=5] [BENCH_FLAGS=...]"; exit 2; }
	$(GO) build -o $(BIN)/nsq_bench ./cmd/nsq_bench
	$(BIN)/nsq_bench targets --nsqd-bin=$(BIN)/nsqd --ref-nsqd=$(REF_NSQD) --ref-name=upstream --rounds=$(ROUNDS) --ceiling --out=$(BENCH_OUT) $(BENCH_FLAGS)

# The scaling sweeps (cost curves) of docs/BENCHMARKS.md, "Cost curves":
# CURVE is channels, topics, conns, size, backlog or all; each point runs
# on a freshly started bin/nsqd and, with REF_NSQD, on REF_NSQD beside it.
# Points merge into SWEEP_OUT/<curve>.json (a run replaces only the points
# it measures), which are drawn as SWEEP_OUT/<curve>-*.svg with every
# broker on one chart, and SWEEP_OUT/<curve>.md. POINTS overrides the
# curve's sizes (POINTS=1,100 or 1M,10M); REF_ARGS and NSQD_ARGS are
# flags for one broker alone, and SWEEP_REF_NAME its label, e.g.
#   make bench-sweep CURVE=topics REF_NSQD=/work/upstream/bin/nsqd
#   make bench-sweep CURVE=channels REF_NSQD=/work/upstream/bin/nsqd REF_ARGS=--mem-queue-size=10000000 SWEEP_REF_NAME=upstream-mem10M
# On a shared machine: flock -x /tmp/bench.lock make bench-sweep ...
CURVE          ?= all
POINTS         ?=
SWEEP_OUT      ?= bench/results/sweeps
SWEEP_REF_NAME ?= upstream
REF_ARGS       ?=
NSQD_ARGS      ?=

bench-sweep: build
	$(GO) build -o $(BIN)/nsq_bench ./cmd/nsq_bench
	$(BIN)/nsq_bench sweep --curve=$(CURVE) --nsqd-bin=$(BIN)/nsqd $(if $(REF_NSQD),--ref-nsqd=$(REF_NSQD) --ref-name=$(SWEEP_REF_NAME)) \
	  $(if $(POINTS),--points=$(POINTS)) $(addprefix --ref-arg=,$(REF_ARGS)) $(addprefix --nsqd-arg=,$(NSQD_ARGS)) \
	  --label="$$(git rev-parse --abbrev-ref HEAD)@$$(git rev-parse --short HEAD)" --out=$(SWEEP_OUT) $(BENCH_FLAGS)

# Fuzzes every fuzz target in the tree for FUZZTIME each, one after the
# other (go test fuzzes one target at a time); `make test` runs their seeds.
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME); \
		done; \
	done

clean:
	rm -rf $(BIN)

# The long torture test: producers and consumers while nsqd is killed with
# SIGKILL at random moments, TORTURE_CYCLES times; every acknowledged message
# must be delivered (make test runs a short version).
TORTURE_CYCLES ?= 200
torture:
	TORTURE_CYCLES=$(TORTURE_CYCLES) $(GO) test -count=1 -timeout 60m -run '^TestTorture$$' -v ./engine/nsqd/
