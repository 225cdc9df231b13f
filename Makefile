# The two commands of the README.  Both build with CMake into build/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
# Under `make -jN` the build joins make's job server; otherwise it uses JOBS.
BUILD_JOBS = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j $(JOBS))

.PHONY: run test build clean deps install bench-peers

deps:
	@missing=""; \
	command -v cmake >/dev/null 2>&1 || missing="$$missing cmake"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc"; \
	command -v c++ >/dev/null 2>&1 || missing="$$missing g++"; \
	command -v make >/dev/null 2>&1 || missing="$$missing make"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkgconf"; \
	/usr/bin/python3 -c 'import numpy, pytest' >/dev/null 2>&1 || \
	  missing="$$missing python3 python3-numpy python3-pytest"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing chromium (only for the HTML report test, which is skipped without it)"; \
	  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "could not install chromium: test_report_chromium will be skipped"; }

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	+cmake --build $(BUILD) $(BUILD_JOBS)

# Paged attention through all three lanes: Case1 with real kernels, checked
# against the golden reference, then the runtime overhead alone (empty
# kernels) on Case1 and Case2.
run: build
	./$(BUILD)/bin/pto2-bench --scene all --case Case1 --lane all --check --rounds 5 --warmup 1
	./$(BUILD)/bin/pto2-bench --scene all --case Case1,Case2 --lane all --kernels noop --rounds 10 --expect-counts

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# Headers, libpto2.so + libpto2.a, pto2-bench, the CMake package and pto2.pc
# under PREFIX (default /usr/local).
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)
	@if [ "$(PREFIX)" = /usr/local ] && [ -w /etc/ld.so.cache ]; then ldconfig; fi

clean:
	rm -rf $(BUILD)

# The peer runtimes on pto2's paged-attention graph and tiled GEMM
# (bench/peers/): builds the harnesses that can be built here (installing
# oneTBB's headers and g++ when missing) and prints one table per graph and
# kernel, pto2's lanes measured in the same run.  Environment: see
# bench/peers/run.sh (SCENES, CASES: Case1 and/or Case2, GRID, K, PASSES,
# ROUNDS, BUSY_US, THREADS), checked before anything is built; a failed run
# fails the target.
# TASKFLOW_DIR: a Taskflow checkout or unpacked release, the folder holding
# taskflow/taskflow.hpp (header-only, C++20; a make or environment variable;
# default: ../shared/third_party/taskflow next to the repository, or one
# level further up for a worktree).  Without it Taskflow is skipped.
TASKFLOW_DIR ?= $(firstword $(wildcard $(CURDIR)/../shared/third_party/taskflow \
                  $(CURDIR)/../../shared/third_party/taskflow) \
                  $(CURDIR)/../shared/third_party/taskflow)
bench-peers:
	@bench/peers/run.sh --check
	$(MAKE) build
	@command -v g++ >/dev/null 2>&1 && test -f /usr/include/oneapi/tbb/flow_graph.h || { \
	  echo "installing g++ and oneTBB (libtbb-dev)"; \
	  apt-get update -qq && apt-get install -y -qq g++ libtbb-dev >/dev/null; }
	$(MAKE) -C bench/peers OUT=$(abspath $(BUILD))/peers TASKFLOW_DIR=$(abspath $(TASKFLOW_DIR))
	bench/peers/run.sh $(BUILD)/peers $(BUILD)/bin/pto2-bench $(BUILD)/bin/pto2-tmap-bench
