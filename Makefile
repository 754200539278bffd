# Makefile targets are the CI steps: .ci/run calls `make test`, and what a
# developer runs locally is what CI runs. `make help` lists the targets.
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli.version=$(VERSION) \
           -X github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli.commit=$(COMMIT)
GOFILES  = $$(git ls-files --cached --others --exclude-standard '*.go')

IMAGE   ?= lumuctl:$(VERSION)
CONTAINER ?= podman

.PHONY: image image-test all help build test vet lint fmt fmt-check check demo clean bench soak soak-loop fuzz pg-bin man

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/lumuctl (version and commit stamped) and bin/lumuctl-sandbox
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/lumuctl ./cmd/lumuctl
	$(GO) build -o $(BIN)/lumuctl-sandbox ./cmd/lumuctl-sandbox

# staticcheck is pinned and run with `go run`, so nothing needs installing
# and go.mod does not depend on it.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet: ## go vet ./...
	$(GO) vet ./...

lint: vet ## the CI gates before the tests: gofmt check, go vet, staticcheck
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed (run make fmt):"; echo "$$out"; exit 1; fi
	$(STATICCHECK) ./...

# The `go mod tidy` check is a test (engine/tidy_test.go), so `go test ./...`
# runs it too. The end-to-end package (cmd/lumuctl) runs its scripts against
# three Kibana generations under the race detector: on a busy 2-core machine it
# outlasts go test's default 10-minute per-package timeout, so it gets 25.
test: lint pg-bin ## lint (gofmt, vet, staticcheck), then every test with the race detector, go.mod tidiness included (what CI runs)
	$(GO) test -race -count=1 -timeout 25m ./...

# The PostgreSQL backend's tests start a throwaway server themselves
# (engine/state/pgstore/pgtest): they need Debian's postgresql binaries
# (initdb, postgres) on PATH or in /usr/lib/postgresql/*/bin. Installed here
# when missing, as root with apt; otherwise this fails naming the command.
PG_INSTALL := apt-get install -y --no-install-recommends postgresql
SYSTEMD_INSTALL := apt-get install -y --no-install-recommends systemd
pg-bin: ## make sure the PostgreSQL server binaries and systemd-analyze the tests need are installed
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "pg-bin: installing postgresql (the tests start a throwaway server): $(PG_INSTALL)"; \
		DEBIAN_FRONTEND=noninteractive $(PG_INSTALL) || { apt-get update && DEBIAN_FRONTEND=noninteractive $(PG_INSTALL); }; \
	else \
		echo "pg-bin: the tests need the PostgreSQL server binaries (initdb, postgres). Install them with:"; \
		echo "    sudo $(PG_INSTALL)"; \
		exit 1; \
	fi
	@if command -v systemd-analyze >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "pg-bin: installing systemd (systemd-analyze verifies examples/deploy): $(SYSTEMD_INSTALL)"; \
		DEBIAN_FRONTEND=noninteractive $(SYSTEMD_INSTALL) || { apt-get update && DEBIAN_FRONTEND=noninteractive $(SYSTEMD_INSTALL); }; \
	else \
		echo "pg-bin: the deployment tests need systemd-analyze. Install it with:"; \
		echo "    sudo $(SYSTEMD_INSTALL)"; \
		exit 1; \
	fi

fmt: build ## gofmt the Go code and lumuctl-fmt the examples
	gofmt -w $(GOFILES)
	$(BIN)/lumuctl fmt --recursive examples

fmt-check: build ## fail if any Go file or example needs formatting
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(BIN)/lumuctl fmt --check --diff --recursive examples

check: fmt-check test ## fmt-check, vet and test

soak: ## crash-consistency loop: 200 rounds of SIGKILLed applies (LUMUCTL_CRASH_ROUNDS, LUMUCTL_CRASH_SEED)
	LUMUCTL_CRASH_ROUNDS=$${LUMUCTL_CRASH_ROUNDS:-200} $(GO) test -count=1 -timeout 60m -run '^TestCrashConsistency$$' -v ./cmd/lumuctl

# Each fuzz target runs for FUZZTIME; `make test` runs their seed corpora
# (testdata/fuzz/FuzzX) as ordinary tests. A crash is written to
# testdata/fuzz/FuzzX/ in its package: commit it with the fix.
FUZZTIME ?= 20s
FUZZ_TARGETS := \
	FuzzLoad:./engine/config \
	FuzzVarsFile:./engine/config \
	FuzzNesting:./engine/config \
	FuzzDecode:./engine/plan \
	FuzzDecodeRecord:./engine/state/boltstore \
	FuzzDecodeIncidents:./providers/lumu \
	FuzzDecodeContext:./providers/lumu \
	FuzzDecodeFind:./providers/kibana \
	FuzzDecodeItem:./providers/kibana \
	FuzzDecodeError:./providers/kibana

soak-loop: build ## memory of apply --every over 200 cycles at 100ms against the sandbox (LOOP_FLAGS)
	$(GO) run ./cmd/lumuctl-bench/looprss -lumuctl $(BIN)/lumuctl $(LOOP_FLAGS)

fuzz: ## run every fuzz target for FUZZTIME (default 20s) each
	@set -e; for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

demo: build
	sh examples/sandbox/demo.sh

BENCH_FLAGS ?=
BENCH_PKGS  := ./engine/pack ./engine/plan ./engine/state/boltstore ./providers/lumu

bench: pg-bin ## benchmarks of SPEC section 8 (BENCH_FLAGS, e.g. -skip growth): table and docs/bench/results.json, then the Go micro-benchmarks (docs/bench/micro.txt)
	@echo "$(GO) run ./cmd/lumuctl-bench -out docs/bench/results.json $(BENCH_FLAGS)"; \
	$(GO) run ./cmd/lumuctl-bench -out docs/bench/results.json $(BENCH_FLAGS); s=$$?; \
	echo; echo "Go micro-benchmarks ($(BENCH_PKGS))"; echo; \
	$(GO) test -run '^$$' -bench . -benchmem $(BENCH_PKGS) >docs/bench/micro.txt 2>&1; m=$$?; cat docs/bench/micro.txt; \
	if [ $$s -ne 0 ]; then exit $$s; fi; exit $$m

image: ## build the container image from Dockerfile with podman, no registry needed (IMAGE, CONTAINER)
	rm -rf $(BIN)/image
	sh examples/deploy/image/rootfs.sh $(BIN)/image/out $(VERSION) $(COMMIT)
	$(CONTAINER) build --pull=never --build-context build=$(BIN)/image -t $(IMAGE) .

image-test: image ## build the image, then check it: runs as 65532, lumuctl version, convert and validate in the volume
	IMAGE=$(IMAGE) CONTAINER=$(CONTAINER) sh examples/deploy/image/test.sh

MANDIR ?= man/man1

man: ## man pages from the cobra command tree (cobra's doc generator) into MANDIR (man/man1)
	$(GO) run ./cmd/lumuctl/internal/mangen -dir $(MANDIR)

clean: ## remove bin/ and man/
	rm -rf $(BIN) man
