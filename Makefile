# diegod build, test, lint and benchmarks. `make test` is what CI runs.
GO        ?= go
BIN       := bin/diegod
PKGS      := ./...
# Packages with goroutines and shared state run under the race detector.
RACE_PKGS := ./raftstore/... ./auction/... ./cell/... ./lifecycle/... ./routing/... ./node/...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1

.PHONY: build test test-race test-e2e lint bench clean

build:
	CGO_ENABLED=1 $(GO) build -o $(BIN) .

test: build
	CGO_ENABLED=1 $(GO) test -count=1 -timeout 12m $(PKGS)
	CGO_ENABLED=1 $(GO) test -count=1 -race -timeout 12m $(RACE_PKGS)
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
