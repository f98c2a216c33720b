# Customer-service chat: build, test and run locally.
#
#   make build   swift build
#   make test    install missing system packages, build (with tests), run every test
#   make run     install missing system packages, build, run a local system (scripts/run-local.sh)
#   make bench   release build (.build-release), redis-benchmark and cs-loadgen scenarios (~4 min);
#                writes docs/benchmarks.md (scripts/bench.sh; sizes via BENCH_* variables)
#   make clean   remove build products, test logs, benchmark output and the local run folder
#
# Variables: SWIFT (swift executable), SWIFT_BUILD_FLAGS, SWIFT_TEST_FLAGS (e.g. --filter EndToEnd).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
SWIFT_TEST_FLAGS ?=
# sudo only when not root (CI containers run as root and often have no sudo).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: all build test run bench clean deps

all: build

## deps: install redis-server and libhiredis-dev when missing (Debian/Ubuntu).
deps:
	@if ! command -v redis-server >/dev/null 2>&1 || [ ! -f /usr/include/hiredis/hiredis.h ]; then \
		echo "==> installing redis-server and libhiredis-dev"; \
		$(SUDO) apt-get update; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server libhiredis-dev; \
	else \
		echo "==> redis-server and libhiredis-dev present"; \
	fi

build:
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

## test: the end-to-end tests start their own redis-server and processes from the bin path.
test: deps
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	export CS_BIN_DIR="$$($(SWIFT) build --show-bin-path $(SWIFT_BUILD_FLAGS))"; \
	echo "==> CS_BIN_DIR=$$CS_BIN_DIR"; \
	$(SWIFT) test $(SWIFT_BUILD_FLAGS) $(SWIFT_TEST_FLAGS)

run: deps build
	CS_BIN_DIR="$$($(SWIFT) build --show-bin-path $(SWIFT_BUILD_FLAGS))" scripts/run-local.sh

## bench: benchmarks against the goals of docs/benchmarks.md; each process may hold as many sockets
## as the hard open-file limit allows.
bench: deps
	ulimit -n "$$(ulimit -Hn)"; scripts/bench.sh

clean:
	$(SWIFT) package clean
	rm -rf test-output run bench-output .build-release
