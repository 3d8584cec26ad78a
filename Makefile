# zerodrop — see README.md. Every target is safe to re-run: builds are cached
# by their inputs under $(ZERODROP_CACHE) and the Go build cache.

SHELL := /bin/bash
GO ?= go
# tests are built as `make build` builds (no cgo, trimmed paths): the same
# compile keys, so a test binary reuses the packages the build compiled
# (client-go and the rest) instead of compiling them all a second time
GOTEST = CGO_ENABLED=0 $(GO) test -trimpath
BIN := $(CURDIR)/bin
ZERODROP_CACHE ?= $(HOME)/.cache/zerodrop
# Fixed build date: the same inputs give the same binaries, images and cache keys.
export SOURCE_DATE_EPOCH ?= 1767225600
export ZERODROP_CACHE
# online (stock kind images), airgapped (images built here) or auto.
MODE ?= auto
# the addons' controllers built ahead (make e2e needs only the ingress controller)
ADDONS ?= traefik,openkruise
e2e: ADDONS = traefik
CLUSTER ?= zerodrop

# where e2e writes outcomes, records, timelines and the JUnit report
OUT ?= $(CURDIR)/out/$(shell date -u +%Y%m%d-%H%M%S)
LABELS ?= gating

.PHONY: all build engine images cluster cluster-up cluster-down test unit e2e gate-binary faults matrix findings examples example-image docs bench bench-load bench-streams bench-capacity bench-matrix test-cold test-external vet clean

# matrix filters and parallelism (see `zerodrop matrix --help`)
MATRIX_FLAGS ?=
PARALLEL ?= 1

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/zerodrop ./cmd/zerodrop-runc

## engine: make sure a Docker engine answers (installs and starts one when needed)
engine: build
	$(BIN)/zerodrop engine

## images: build every image an air-gapped cluster needs (skipped online)
images: build
	@if [ "$$($(BIN)/zerodrop mode --mode $(MODE))" = airgapped ]; then \
		$(BIN)/zerodrop images --addons '$(ADDONS)' >/dev/null; \
	else echo "online mode: kind's stock node image is used"; $(BIN)/zerodrop engine; fi

## cluster: a healthy 3-node cluster, proven by the cluster integration test
cluster: cluster-up
	$(GOTEST) -count=1 -run 'TestCluster' ./kind/... -v -timeout 15m

cluster-up: images
	$(BIN)/zerodrop up --name $(CLUSTER) --mode $(MODE) --verify

cluster-down: build
	$(BIN)/zerodrop down --name $(CLUSTER)

## e2e: the gating suite on the embedded default cluster (exit code + JUnit); the
## timeout leaves room for 15 minutes of waiting for the cluster lock. The gate's
## test binary compiles beside the cluster's images (a cold build leaves CPU idle)
## and runs in its package's directory, as go test runs it.
e2e: build
	@$(MAKE) --no-print-directory -j2 cluster-up gate-binary ADDONS='$(ADDONS)'
	@mkdir -p $(OUT)
	@rc=0; (cd suites/gating && ZERODROP_OUT=$(abspath $(OUT)) $(BIN)/gating.test -test.count=1 -test.timeout 60m \
		-ginkgo.label-filter='$(LABELS)' \
		-ginkgo.junit-report=$(abspath $(OUT))/junit.xml -ginkgo.json-report=$(abspath $(OUT))/ginkgo.json) || rc=$$?; \
	$(BIN)/zerodrop report $(OUT) --out $(OUT)/report.md && cat $(OUT)/report.md | sed -n '1,/^## Scenarios/p'; \
	$(BIN)/zerodrop report $(OUT) --out $(OUT)/report.html; \
	echo "outcomes, records, timelines, JUnit, report.md and report.html in $(OUT)"; exit $$rc

gate-binary:
	@mkdir -p $(BIN)
	$(GOTEST) -c -o $(BIN)/gating.test ./suites/gating

## unit: tests that need no cluster
unit:
	$(GOTEST) -short -count=1 ./...

## test: every test; integration tests create/reuse the default cluster. One
## package at a time: the integration tests share one cluster and its node ports.
test: cluster-up
	$(GOTEST) -p 1 -count=1 -timeout 40m ./...

## matrix: every profile under every disruption, every path, both clients (exit 0 only when every cell is as expected)
matrix: cluster-up
	@mkdir -p $(OUT)
	$(BIN)/zerodrop matrix --out $(OUT) --parallel $(PARALLEL) $(MATRIX_FLAGS)

## findings: the matrix measured anew, its report kept as docs/findings-run.md beside docs/findings.md
findings: cluster-up
	@mkdir -p $(OUT)
	-$(BIN)/zerodrop matrix --out $(OUT) --parallel $(PARALLEL) $(MATRIX_FLAGS)
	cp $(OUT)/report.md docs/findings-run.md
	@echo "matrix report in docs/findings-run.md (the run in $(OUT))"

## example-image: the example app's image (plain-app:v1) as an archive beside its
## scenario file, built offline: the app's Go module, one non-root layer
example-image:
	$(GO) run ./internal/cmd/exampleimage -app docs/examples/plain-app/app -out docs/examples/plain-app/plain-app.tar

## examples: every docs/examples scenario file judged on the running cluster (make
## cluster); each loads the image archive its spec.images names. Outcomes and
## report.md per example under $(OUT)
EXAMPLES ?= plain-app plain-app-prestop
examples: build example-image
	@mkdir -p $(OUT)
	@rc=0; for ex in $(EXAMPLES); do \
		$(BIN)/zerodrop run -f docs/examples/$$ex/zerodrop.yaml --out $(OUT)/$$ex || rc=$$?; \
	done; echo "outcomes and report.md per example in $(OUT)"; exit $$rc

## docs: generated documentation (the matrix's expectations, the scenario file's JSON Schema)
docs: build
	{ printf '# The matrix: every cell and what it must show\n\nGenerated from the code by `make docs` (`zerodrop matrix --list`); a test keeps it true. Each scenario loads every path at once with both clients, each judged against its own expectation.\n\n'; $(BIN)/zerodrop matrix --list; } > docs/matrix.md
	$(GO) generate ./suites/scenariofile

## faults: the harness under faults, every case (CI runs a subset within make test)
faults: cluster-up
	ZERODROP_FAULTS=all $(GOTEST) -count=1 -timeout 30m -run 'Interrupt|Killed|Restart' -v ./cmd/zerodrop ./suites/runner
	ZERODROP_FAULTS=all $(GOTEST) -count=1 -timeout 15m -run 'TestDisruptionsOnTheCluster/stop' -v ./chaos

## test-external: zerodrop on a kind cluster it did not create (a plain `kind create cluster`), through --kubeconfig (minutes)
test-external: cluster-up example-image
	ZERODROP_EXTERNAL=1 $(GOTEST) -count=1 -timeout 30m -run TestRunOnAPlainKindCluster -v ./cmd/zerodrop

## test-cold: what a fresh machine meets: two root filesystems debootstrapped side by side from an empty cache (minutes)
test-cold:
	ZERODROP_COLD=1 $(GOTEST) -count=1 -timeout 30m -run TestRootfsConcurrentEmptyCache -v ./kind/factory

## bench: load engine benchmarks (see docs/benchmarks.md)
bench bench-load:
	$(GO) run ./internal/cmd/loadbench

## bench-streams: the stream load mode (open streams held, messages per second)
bench-streams:
	$(GO) run ./internal/cmd/streambench

## bench-capacity: CPU per request per path and the capacity curve on the running cluster
bench-capacity: cluster-up
	$(GO) run ./internal/cmd/capacity

## bench-matrix: the whole matrix, timed, twice (verdicts must agree)
bench-matrix: cluster-up
	@mkdir -p $(OUT)/1 $(OUT)/2
	time $(BIN)/zerodrop matrix --out $(OUT)/1 --parallel $(PARALLEL) $(MATRIX_FLAGS); \
	time $(BIN)/zerodrop matrix --out $(OUT)/2 --parallel $(PARALLEL) $(MATRIX_FLAGS); \
	$(BIN)/zerodrop report $(OUT)/2 --baseline $(OUT)/1 --out $(OUT)/compare.md

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
