# The front door. `make demo` and `make test` work on a fresh Debian 12
# machine: they install what is missing, build, and run.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build test demo bench traces clean

all: build

deps:
	deploy/install-deps.sh build

build: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	deploy/demo.sh $(BUILD)

bench: build
	$(BUILD)/tests/bench/schedule_bench --benchmark_repetitions=3 \
	  --benchmark_report_aggregates_only=true

# Regenerates tests/data/traces with Debian's PyTorch (by hand; the output is
# checked in).
traces:
	deploy/install-deps.sh traces
	/usr/bin/python3 tests/data/gen_pytorch_traces.py

clean:
	rm -rf $(BUILD)
