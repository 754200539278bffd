# Makefile targets are the CI steps: .ci/run calls `make test`.
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli.version=$(VERSION) \
           -X github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli.commit=$(COMMIT)

.PHONY: all build test vet fmt fmt-check demo clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/lumuctl ./cmd/lumuctl
	$(GO) build -o $(BIN)/lumuctl-sandbox ./cmd/lumuctl-sandbox

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -race -count=1 ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

demo: build
	@for d in examples/*/; do \
		echo "== $$d"; \
		$(BIN)/lumuctl --chdir $$d validate || exit 1; \
		$(BIN)/lumuctl fmt --check $$d || exit 1; \
	done

clean:
	rm -rf $(BIN)
