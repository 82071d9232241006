# ReferStream — build and test entry points. `make test` is what CI runs (.ci/run).
SWIFT      ?= swift
VENV       ?= $(CURDIR)/.venv
# Tests that need an independent client (pyzmq, pycocotools, GStreamer's RTSP server) run this Python.
export REFERSTREAM_PYTHON ?= $(VENV)/bin/python

.PHONY: all deps build release test clean demo install bench

all: build

## deps: install system packages and the Python test environment (idempotent)
deps:
	@bash scripts/install-deps.sh

## build: debug build of every target
build: deps
	$(SWIFT) build

## release: optimised build (benchmarks and deployment)
release: deps
	$(SWIFT) build -c release

## test: install what is missing, build, and run the whole test suite. `make install` output goes to
## .build/install-check first (release, static Swift standard library), for StaticInstallTests, which
## runs it with the toolchain hidden.
INSTALL_CHECK ?= $(CURDIR)/.build/install-check
test: deps
	$(SWIFT) build --build-tests
	@bash scripts/install.sh /usr/local "$(INSTALL_CHECK)"
	REFERSTREAM_INSTALL_CHECK="$(INSTALL_CHECK)/usr/local" $(SWIFT) test --skip-build

clean:
	rm -rf .build

## bench: release build, then one `referstream-bench all`: per-stage time of the R50 model at 360x640 with
## its analytic FLOPs and GFLOP/s against a same-run sgemm, peak RSS, streaming cost per frame and the demo
## model's frames/s: a table, and JSON in bench-out/bench.json (docs/benchmarks.md). PyTorch side by side:
## tools/bench/compare.py.
bench: deps
	$(SWIFT) build -c release --product referstream-bench
	"$$($(SWIFT) build -c release --show-bin-path)/referstream-bench" all --json bench-out/bench.json

## demo: the first command to run: installs what is missing, builds in release mode, runs referstreamd on
## a generated clip, changes the phrase live, writes overlays and a summary to demo-out/ (scripts/demo.sh)
demo: deps
	@bash scripts/demo.sh

## install: release binaries with the static Swift standard library (they run without the toolchain),
## systemd units, pipelines, the example configuration and the bundled model, under PREFIX.
PREFIX  ?= /usr/local
DESTDIR ?=
install:
	@bash scripts/install.sh "$(PREFIX)" "$(DESTDIR)"
