# CoFi reproduction harness. `make help` lists the targets.
#
# Targets that need libtorch first run torchsetup, which finds libtorch
# (Debian's libtorch-dev by default, or LIBTORCH=<dir>: an unpacked libtorch
# or a Python torch package), patches a copy of gotch for it under build/ and
# writes go.work and build/torch.mk. It is fast when nothing changed.

SHELL := /bin/bash
GO ?= go
BIN := bin/cofi
# Build tags for the detected libtorch ("torch" or "torch,cuda"), read when a
# recipe runs, i.e. after the torch target has written build/torch.mk.
TAGS = $(shell sed -n 's/^TORCH_TAGS := //p' build/torch.mk 2>/dev/null)
# Packages with libtorch-backed code (tests need the torch build tag).
TORCH_PKGS := ./experiments/... ./baselines/... ./cmd/...

.PHONY: help build torch test test-pure test-torch vet bench demo clean

help:
	@echo "make build   build $(BIN) against libtorch (installs Debian's libtorch-dev when root)"
	@echo "make test    vet, then every test: pure-Go packages without libtorch, then the libtorch ones"
	@echo "make bench   benchmark figures (Go vs PyTorch step time, latency, RSS)"
	@echo "make demo    offline demo on the built-in synthetic tasks (tiny BERT, CPU)"
	@echo "make clean   remove bin/ and build/ (the patched gotch copy)"
	@echo "LIBTORCH=<dir> selects another libtorch (see REPRODUCE.md)"

torch:
	@GOWORK=off $(GO) run ./cmd/torchsetup -q

build: torch
	@$(MAKE) --no-print-directory $(BIN)

$(BIN): FORCE
	$(GO) build -tags "$(TAGS)" -o $(BIN) ./cmd/cofi

FORCE:

vet:
	$(GO) vet ./...

# Pure-Go packages build and test without libtorch or any build tag.
test-pure:
	$(GO) test ./...

test-torch: torch
	$(GO) vet -tags "$(TAGS)" $(TORCH_PKGS)
	$(GO) test -tags "$(TAGS)" $(TORCH_PKGS)

test: vet test-pure test-torch

# Figures, not assertions: Go vs PyTorch step time on BERT-base shapes, RSS over
# many steps, and compact-model speedups on this CPU (see 'bin/cofi bench --help').
bench: build
	$(BIN) bench $(BENCH_FLAGS)

clean:
	rm -rf bin build go.work go.work.sum
