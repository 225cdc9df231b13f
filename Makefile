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

run: build
	./$(BUILD)/bin/hello

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

clean:
	rm -rf $(BUILD)
