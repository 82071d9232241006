# ReferStream — build and test entry points. `make test` is what CI runs (.ci/run).
SWIFT      ?= swift
VENV       ?= $(CURDIR)/.venv
# Tests that need an independent client (pyzmq, pycocotools, GStreamer's RTSP server) run this Python.
export REFERSTREAM_PYTHON ?= $(VENV)/bin/python

.PHONY: all deps build release test clean

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

## test: install what is missing, build, and run the whole test suite
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build
