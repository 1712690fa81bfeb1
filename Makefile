# torchinit: `make demo` and `make test` set everything up on a fresh Debian 12 machine.
#
# TORCH=debian (default): Debian's libtorch-dev 1.13. TORCH=upstream: the LibTorch inside PyPI's
# `torch` wheel (TORCH_VERSION), installed into a virtual environment under ~/.cache, e.g.
#   make test TORCH=upstream TORCH_VERSION=2.7.0
TORCH ?= debian
TORCH_VERSION ?= 2.15.0
VENV ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/torchinit-venv-$(TORCH_VERSION)
ifeq ($(TORCH),upstream)
  PRESET ?= upstream
  BUILD := build/upstream-$(TORCH_VERSION)
  export TORCHINIT_TORCH_VERSION := $(TORCH_VERSION)
  TORCH_ARGS = -DCMAKE_PREFIX_PATH="$$($(VENV)/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)"
else ifeq ($(TORCH),debian)
  PRESET ?= release
  BUILD := build/$(PRESET)
else
  $(error TORCH=$(TORCH): use TORCH=debian (Debian's libtorch-dev) or TORCH=upstream (PyPI's torch wheel))
endif
JOBS ?= $(shell nproc)
CLI := $(BUILD)/torchinit
WERROR ?= OFF
BENCH_ARGS ?= --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

.PHONY: all deps configure build demo test test-package test-upstream-ci bench format clean asan fuzz

all: build

deps:
	@TORCH=$(TORCH) TORCH_VERSION=$(TORCH_VERSION) VENV="$(VENV)" bash cmake/install-deps.sh

configure: deps
	cmake --preset $(PRESET) -DTORCHINIT_WERROR=$(WERROR) $(TORCH_ARGS)

build: configure
	cmake --build --preset $(PRESET) -j $(JOBS)

# The demo needs the library and the CLI only, not the test suite.
demo: configure
	cmake --build --preset $(PRESET) -j $(JOBS) --target torchinit_cli
	$(CLI) demo

# Every test but the package consumers (label `package`: they configure and build projects that
# use torchinit, one of them compiling the library again); `make test-package` and CI run them.
# ctest runs JOBS tests at a time (the dist test alone: its timeouts are in seconds).
test: build
	ctest --preset $(PRESET) -LE package -j $(JOBS)

test-package: build
	ctest --preset $(PRESET) -L package -j $(JOBS)

# CI's second LibTorch (upstream, TORCH_VERSION): the tests whose outcome depends on the LibTorch
# -- unit (with the Backend::Torch parity tests), golden (Philox bytes identical to 1.13's, QR
# bytes by LAPACK), dist, the Python tests (in the venv), the header check and the package
# consumers (the install skips the CLI, which is not built here). Both full suites do not fit
# CI's budget; `make test TORCH=upstream` runs the rest (the CLI, checks, nn, plans, signal).
UPSTREAM_CI_TESTS := ^(unit.*|golden|dist|python|one_libtorch_headers|package_.*)$$
test-upstream-ci: export TORCHINIT_TORCH_VERSION := $(TORCH_VERSION)
test-upstream-ci:
	$(MAKE) configure TORCH=upstream WERROR=$(WERROR)
	cmake --build --preset upstream -j $(JOBS) --target torchinit_tests \
	  torchinit_reliability_tests torchinit_dist_tests torchinit_testing torchinit_ops
	@echo "test-upstream-ci: LibTorch $(TORCH_VERSION): tests $(UPSTREAM_CI_TESTS) (all: make test TORCH=upstream)"
	TORCHINIT_NO_CLI=1 ctest --preset upstream -R '$(UPSTREAM_CI_TESTS)' -j $(JOBS)

bench: deps
	cmake --preset release -DTORCHINIT_BUILD_BENCH=ON
	cmake --build --preset release -j $(JOBS) --target torchinit_bench torchinit_ops torchinit_cli
	build/release/bench/torchinit_bench --benchmark_out=bench/results.json --benchmark_out_format=json $(BENCH_ARGS)
	build/release/torchinit bench orthogonal --shape 8192,8192 --threads 2 --repeat 3
	PYTHONPATH=python TORCHINIT_OPS_LIBRARY=build/release/src/ops/libtorchinit_ops.so \
	  /usr/bin/python3 bench/python_init_bench.py --json bench/python_results.json

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf build

# ASan + UBSan build of the whole suite (without the package consumer tests, which only rebuild
# the library). Leak checking is off: LibTorch's and OpenMP's process-lifetime allocations
# (registries, thread pools) are reported as leaks at exit.
asan: deps
	cmake --preset asan -DTORCHINIT_WERROR=$(WERROR)
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -E package -j $(JOBS)

# libFuzzer on the parsers, side by side for FUZZ_SECONDS (the three share the 2 cores: 60
# CPU-seconds each at the default 90). The fuzzers live in the asan build (one clang compile of
# the library serves both). New inputs go to build/asan/corpus, the seeds in test/fuzz/corpus stay
# as committed; each fuzzer's log is build/asan/fuzz-<name>.log (its tail is printed). Any crash,
# hang (> 10 s) or sanitizer report fails; the input that did it is written to
# build/asan/crash-<sha1> (add it to the corpus with the fix).
FUZZ_SECONDS ?= 90
FUZZERS := spec plan model
fuzz: deps
	cmake --preset asan -DTORCHINIT_WERROR=$(WERROR)
	cmake --build --preset asan -j $(JOBS) --target $(addsuffix _fuzzer,$(FUZZERS))
	@pids=""; for f in $(FUZZERS); do mkdir -p build/asan/corpus/$$f; \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=0 \
	  build/asan/test/fuzz/$${f}_fuzzer -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=build/asan/ \
	    build/asan/corpus/$$f test/fuzz/corpus/$$f >build/asan/fuzz-$$f.log 2>&1 & \
	  pids="$$pids $$!"; echo "fuzz: $$f for $(FUZZ_SECONDS) s (log build/asan/fuzz-$$f.log)"; done; \
	status=0; for p in $$pids; do wait $$p || status=1; done; \
	for f in $(FUZZERS); do echo "--- fuzz: $$f"; tail -n 12 build/asan/fuzz-$$f.log; done; \
	if [ $$status -ne 0 ]; then echo "fuzz: a fuzzer failed (see the logs above and build/asan/crash-*)"; fi; \
	exit $$status
