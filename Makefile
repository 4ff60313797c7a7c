# pigsty — one binary for highly available PostgreSQL.
#
#   make build   static binary bin/pigsty
#   make test    lint, unit and integration tests (integration needs root)
#   make bench   benchmarks (long; not part of test)

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 10s

.PHONY: build test unit fuzz lint bench clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/pigsty .

test: lint unit fuzz

unit:
	$(GO) test -count=1 -timeout 25m ./...

# The inventory parser's fuzz test, briefly; minimization is capped so a
# newly interesting input does not stall the run.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) -fuzzminimizetime 100x ./pgsql/inventory

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Long measurements, ratios and figures printed by the tests (root), one
# package at a time: the HA failover figures need the cores to themselves.
bench:
	PIGSTY_BENCH=1 $(GO) test -count=1 -timeout 60m -v -run 'TestBench' ./build/e2e
	PIGSTY_BENCH=1 $(GO) test -count=1 -timeout 90m -v -run 'TestBench' ./build/ha

clean:
	rm -rf bin
