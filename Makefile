# Customer-service chat: build, test and run locally.
#
#   make build   swift build
#   make test    install missing system packages, build (with tests), run every test: deployment
#                files, Swift unit/integration/end-to-end tests, browser tests (headless Chromium)
#   make run     install missing system packages, build, run a local system (scripts/run-local.sh)
#   make bench   release build (.build-release), redis-benchmark and cs-loadgen scenarios (~12 min);
#                writes docs/benchmarks.md (scripts/bench.sh; sizes via BENCH_* variables)
#   make soak    100,000 WebSocket connect/disconnect cycles + an hour of chat in 3 min (~9 min)
#   make cluster Redis (ACL users), HAProxy on :8088, 2 gateways, 2 dispatchers, 1 notifier, 1 cs-webhooks (scripts/cluster.sh);
#                make cluster-down stops it; logs in run/cluster/logs/
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

.PHONY: all build test run bench soak clean deps deploy-deps browser-deps cluster cluster-down

all: build

## deps: install redis-server, libhiredis-dev, python3 (the webhook tests' receiver) and postgresql
## (the archive; the tests start their own servers from /usr/lib/postgresql/*/bin) when missing (Debian/Ubuntu).
deps:
	@if ! command -v redis-server >/dev/null 2>&1 || [ ! -f /usr/include/hiredis/hiredis.h ] || ! command -v python3 >/dev/null 2>&1 \
		|| ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then \
		echo "==> installing redis-server, libhiredis-dev, python3 and postgresql"; \
		$(SUDO) apt-get update; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server libhiredis-dev python3 postgresql; \
	else \
		echo "==> redis-server, libhiredis-dev, python3 and postgresql present"; \
	fi

## deploy-deps: haproxy (make cluster, tests), docker-compose (compose file check), curl.
deploy-deps:
	@if ! command -v haproxy >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then \
		echo "==> installing haproxy, docker-compose and curl"; \
		$(SUDO) apt-get update; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy docker-compose curl; \
	else \
		echo "==> haproxy, docker-compose and curl present"; \
	fi

## browser-deps: headless Chromium, its WebDriver and Selenium (scripts/test-browser.sh).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 || ! /usr/bin/python3 -c 'import selenium' >/dev/null 2>&1; then \
		echo "==> installing chromium, chromium-driver and python3-selenium"; \
		$(SUDO) apt-get update; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver python3-selenium; \
	else \
		echo "==> chromium, chromium-driver and python3-selenium present"; \
	fi

build:
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

## test: the end-to-end tests start their own redis-server and processes from the bin path.
## Then the browser tests (headless Chromium against real processes, screenshots in
## test-output/browser/) and the Autobahn WebSocket conformance cases (kosoku, from PyPI).
test: deps deploy-deps browser-deps
	scripts/test-deploy.sh
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	export CS_BIN_DIR="$$($(SWIFT) build --show-bin-path $(SWIFT_BUILD_FLAGS))"; \
	echo "==> CS_BIN_DIR=$$CS_BIN_DIR"; \
	$(SWIFT) test $(SWIFT_BUILD_FLAGS) $(SWIFT_TEST_FLAGS); \
	scripts/test-browser.sh; \
	scripts/test-conformance.sh

run: deps build
	CS_BIN_DIR="$$($(SWIFT) build --show-bin-path $(SWIFT_BUILD_FLAGS))" scripts/run-local.sh

## bench: benchmarks against the goals of docs/benchmarks.md; each process may hold as many sockets
## as the hard open-file limit allows.
bench: deps
	ulimit -n "$$(ulimit -Hn)"; scripts/bench.sh

## soak: bounded loopback soak, ~9 min (scripts/soak.sh; sizes and tolerances via SOAK_* variables;
## results in test-output/soak/).
soak: deps build
	ulimit -n "$$(ulimit -Hn)"; CS_BIN_DIR="$$($(SWIFT) build --show-bin-path $(SWIFT_BUILD_FLAGS))" scripts/soak.sh

## cluster: the production topology on this machine (scripts/cluster.sh up); stop with make cluster-down.
cluster: deps deploy-deps build
	CS_BIN_DIR="$$($(SWIFT) build --show-bin-path $(SWIFT_BUILD_FLAGS))" scripts/cluster.sh up

cluster-down:
	scripts/cluster.sh down

clean:
	-scripts/cluster.sh down
	$(SWIFT) package clean
	rm -rf test-output run bench-output .build-release
