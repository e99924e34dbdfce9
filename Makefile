# CoFi reproduction harness. `make help` lists the targets.
#
# The libtorch build has two halves (REPRODUCE.md, "GPU machines"):
#   torch   cmd/torchsetup (Go, no libtorch): a copy of gotch under build/gotch
#           that links lib/libcofitorch.so instead of compiling C++, go.work, and
#           the wrapper's C++ sources in build/native/gotch;
#   native  scripts/build-native.sh (POSIX sh + a C++ compiler, no Go): builds
#           lib/libcofitorch.so against one libtorch: Debian's libtorch-dev by
#           default, or LIBTORCH=<dir> (an unpacked libtorch or a Python torch
#           package). bin/cofi links only that library's C symbols, so the same
#           binary runs against a library rebuilt for any libtorch 1.13-2.x.
# Both are fast when nothing changed.

SHELL := /bin/bash
GO ?= go
BIN := bin/cofi
TAGS := torch
# Packages with libtorch-backed code (tests need the torch build tag).
TORCH_PKGS := ./experiments/... ./baselines/... ./cmd/...

.PHONY: help build torch native test test-pure test-torch test-gpucheck test-libtorch2 vet bench demo clean nightly nightly-accept \
	reproduce-table2 reproduce-table3 reproduce-table4 reproduce-table5 reproduce-table6 reproduce-figure2 reproduce-figure3

help:
	@echo "make demo    offline demo: teacher, CoFi at 3 sparsities and 2 ablations on a synthetic task (CPU, minutes)"
	@echo "make build   build $(BIN) against libtorch (installs Debian's libtorch-dev when root)"
	@echo "make test    vet, then every test: pure-Go packages, the libtorch ones, gpu-check on the CPU without Go, and all of it against libtorch 2.6 in a Debian 13 chroot (root)"
	@echo "make bench   benchmark figures (Go vs PyTorch step time, latency, RSS)"
	@echo "make reproduce-table2|table3|table4|table5|table6|figure2|figure3   run a paper grid (resumes), then its report"
	@echo "make nightly run the nightly grid and compare with the accepted baseline (exit 1 on regression)"
	@echo "make clean   remove bin/, lib/ and build/ (the gotch copy and the native sources)"
	@echo "make native  rebuild lib/libcofitorch.so only (LIBTORCH=<dir>: another libtorch; no Go needed: scripts/build-native.sh)"
	@echo "LIBTORCH=<dir> selects another libtorch (see REPRODUCE.md)"
	@echo "EXECUTOR=slurm runs demo, reproduce-* and nightly through Slurm job arrays (see REPRODUCE.md)"

torch:
	@GOWORK=off $(GO) run ./cmd/torchsetup -q

# Installs Debian's libtorch-dev when it is missing, no LIBTORCH is given and
# make runs as root.
native: torch
	@scripts/build-native.sh --install -q $(if $(LIBTORCH),--libtorch "$(LIBTORCH)")

build: torch native
	@$(MAKE) --no-print-directory $(BIN)

$(BIN): FORCE
	$(GO) build -tags "$(TAGS)" -o $(BIN) ./cmd/cofi

FORCE:

vet:
	$(GO) vet ./...

# Pure-Go packages build and test without libtorch or any build tag.
test-pure:
	$(GO) test ./...

test-torch: torch native
	$(GO) vet -tags "$(TAGS)" $(TORCH_PKGS)
	$(GO) test -timeout 30m -tags "$(TAGS)" $(TORCH_PKGS)

# The GPU machine's path on this CPU: the native library rebuilt by the script
# with no Go on PATH (against python3's torch: Debian's python3-torch), then
# scripts/gpu-check.sh --device cpu with the prebuilt binary.
test-gpucheck: build
	env -i HOME="$$HOME" PATH=/usr/sbin:/usr/bin:/sbin:/bin scripts/gpu-check.sh --device cpu --out build/gpu-check-cpu

# The same, and every torch-tagged test, against a second libtorch: Debian 13's
# 2.6 in a chroot without Go (needs root; COFI_LIBTORCH2_TESTS=skip skips it).
test-libtorch2: build
	GO="$(GO)" .ci/libtorch2.sh

test: vet test-pure test-torch test-gpucheck test-libtorch2

# Figures, not assertions: Go vs PyTorch step time on BERT-base shapes, RSS over
# many steps, and compact-model speedups on this CPU (see 'bin/cofi bench --help').
bench: build
	$(BIN) bench $(BENCH_FLAGS)

clean:
	rm -rf bin build lib go.work go.work.sum

# ---- reproduction (REPRODUCE.md) ----
# EXECUTOR=slurm runs the grids of the targets below through Slurm job arrays
# (settings: [executor.slurm] of the config; REPRODUCE.md, "On a Slurm cluster").
EXECUTOR_FLAGS = $(if $(EXECUTOR),--executor $(EXECUTOR))
# Each target runs its grid from configs/ (resuming whatever exists; a missing
# data set or model stops it before any work, saying where it looked and how to
# get it), then renders its report next to the paper's numbers.
REPORT_table2 := --tables table2,table6,structure,runs --figures layers-grid,curves
REPORT_table3 := --tables table3,runs --figures none
REPORT_table4 := --tables table4,structure,runs --figures none
REPORT_table5 := --tables table5,runs --figures none
REPORT_table6 := --tables table6,structure,runs --figures layers-grid,curves
REPORT_figure2 := --tables runs --figures figure2
REPORT_figure3 := --tables structure --figures figure3

# A static pattern rule: make never applies a plain pattern rule to a .PHONY
# target, so `reproduce-%: build` alone did nothing ("Nothing to be done").
REPRODUCE := table2 table3 table4 table5 table6 figure2 figure3
$(addprefix reproduce-,$(REPRODUCE)): reproduce-%: build
	$(BIN) run configs/$*.toml $(RUN_FLAGS) $(EXECUTOR_FLAGS)
	$(BIN) report --experiment results/$* $(REPORT_$*)
	@echo "outputs: results/$*/report/report.md (tables, figures, CSV/JSON); runs and logs: results/$*/"

# The demo: built-in synthetic tasks, a tiny BERT, CPU only, no downloads.
demo: build
	$(BIN) synth --out data/synthetic
	$(BIN) run configs/demo.toml $(RUN_FLAGS) $(EXECUTOR_FLAGS)
	$(BIN) report --experiment results/demo --formats md,txt,tex,csv,json,png,svg,pdf
	@cat results/demo/report/table2.txt; echo; cat results/demo/report/table4.txt; echo; cat results/demo/report/table5.txt
	@echo "outputs: results/demo/report/report.md (tables, links to every run's training curve), results/demo/report/figure2-syn-pair.png (score against speedup and size)"

# Nightly regression run: the grid reruns only when the code changed
# (invalidate_on_commit), then is compared with the accepted baseline.
# records.jsonl keeps every night's records (each carries its commit), so the
# report draws each headline metric night by night (table and figure
# "history") and compare names the night a metric left its tolerance band.
NIGHTLY_BASELINE := results/nightly-baseline
nightly: build
	$(BIN) run configs/nightly.toml $(RUN_FLAGS) $(EXECUTOR_FLAGS)
	$(BIN) report --experiment results/nightly --formats md,txt,csv,json,svg,png,bench \
	  $$( [ -f $(NIGHTLY_BASELINE)/records.jsonl ] && echo --baseline $(NIGHTLY_BASELINE) )
	@if [ -f $(NIGHTLY_BASELINE)/records.jsonl ]; then \
	  $(BIN) compare --baseline $(NIGHTLY_BASELINE) --json-out results/nightly/compare.json results/nightly; \
	else \
	  echo "no accepted baseline in $(NIGHTLY_BASELINE): review results/nightly/report/report.md, then 'make nightly-accept'"; \
	fi

# Accept the current nightly results as the baseline later runs are compared with.
nightly-accept:
	mkdir -p $(NIGHTLY_BASELINE)
	cp results/nightly/records.jsonl $(NIGHTLY_BASELINE)/records.jsonl
	@echo "baseline: $(NIGHTLY_BASELINE)/records.jsonl"
