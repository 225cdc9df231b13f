# The two commands of the README.  Both build with CMake into build/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=

.PHONY: run test build clean deps bench-peers

deps:
	@command -v cmake >/dev/null 2>&1 && command -v cc >/dev/null 2>&1 || { \
	  echo "installing build tools (cmake, gcc, make)"; \
	  apt-get update -qq && apt-get install -y -qq cmake gcc make >/dev/null; }

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Paged attention through all three lanes: Case1 with real kernels, checked
# against the golden reference, then the runtime overhead alone (empty
# kernels) on Case1 and Case2.
run: build
	./$(BUILD)/bin/pto2-bench --scene all --case Case1 --lane all --check --rounds 5 --warmup 1
	./$(BUILD)/bin/pto2-bench --scene all --case Case1,Case2 --lane all --kernels noop --rounds 10 --expect-counts

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

clean:
	rm -rf $(BUILD)

# The peer runtimes on pto2's paged-attention graph (bench/peers/): builds
# the harnesses that can be built here (installing oneTBB's headers and g++
# when missing) and prints one table, pto2's lanes measured in the same run.
# TASKFLOW_DIR: a Taskflow checkout (default: ../shared/third_party/taskflow
# next to the repository, or one level further up for a worktree).
TASKFLOW_DIR ?= $(firstword $(wildcard $(CURDIR)/../shared/third_party/taskflow \
                  $(CURDIR)/../../shared/third_party/taskflow) \
                  $(CURDIR)/../shared/third_party/taskflow)
bench-peers: build
	@command -v g++ >/dev/null 2>&1 && test -f /usr/include/oneapi/tbb/flow_graph.h || { \
	  echo "installing g++ and oneTBB (libtbb-dev)"; \
	  apt-get update -qq && apt-get install -y -qq g++ libtbb-dev >/dev/null; }
	$(MAKE) -C bench/peers OUT=$(abspath $(BUILD))/peers TASKFLOW_DIR=$(abspath $(TASKFLOW_DIR))
	bench/peers/run.sh $(BUILD)/peers $(BUILD)/bin/pto2-bench
