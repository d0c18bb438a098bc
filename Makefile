# diegod build, test, lint and benchmarks. `make test` is what CI runs.
GO        ?= go
BIN       := bin/diegod
PKGS      := ./...
# Packages with goroutines and shared state run under the race detector.
RACE_PKGS := ./raftstore/... ./auction/... ./cell ./cell/celltest ./lifecycle/... ./routing/... ./node/...
CONTAINER_PKGS := ./cell/runc/... ./test/containers/...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1

.PHONY: build test lint bench clean

build:
	CGO_ENABLED=1 $(GO) build -o $(BIN) .

# The container packages run one at a time, after the rest: they create
# real containers, bridges and nftables rules, and their restart tests
# follow process exits, which a CPU saturated by other packages slows.
test: build
	CGO_ENABLED=1 $(GO) test -count=1 -timeout 12m $$($(GO) list $(PKGS) | grep -v -e /cell/runc -e /test/containers)
	CGO_ENABLED=1 $(GO) test -count=1 -race -timeout 12m $(RACE_PKGS)
	CGO_ENABLED=1 $(GO) test -count=1 -p 1 -timeout 10m $(CONTAINER_PKGS)
	CGO_ENABLED=1 $(GO) test -count=1 -p 1 -race -timeout 10m ./cell/runc/
	bash scripts/e2e-single-node.sh $(BIN)
	bash test/e2e/cluster.sh $(BIN)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	bash scripts/check-imports.sh

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./auction/ ./raftstore/ ./node/...
	bash bench/e2e-fake.sh $(BIN)

clean:
	rm -rf bin
