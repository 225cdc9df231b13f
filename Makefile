# The two commands of the README.  Both build with CMake into build/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=

.PHONY: run test build clean deps

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
