# torchinit: `make demo` and `make test` set everything up on a fresh Debian 12 machine.
PRESET ?= release
JOBS ?= $(shell nproc)
BUILD := build/$(PRESET)
CLI := $(BUILD)/torchinit
WERROR ?= OFF

.PHONY: all deps configure build demo test bench format clean

all: build

deps:
	@bash cmake/install-deps.sh

configure: deps
	cmake --preset $(PRESET) -DTORCHINIT_WERROR=$(WERROR)

build: configure
	cmake --build --preset $(PRESET) -j $(JOBS)

demo: build
	$(CLI) demo

test: build
	ctest --preset $(PRESET)

bench: deps
	cmake --preset release -DTORCHINIT_BUILD_BENCH=ON
	cmake --build --preset release -j $(JOBS) --target torchinit_bench
	build/release/bench/torchinit_bench --benchmark_out=bench/results.json --benchmark_out_format=json

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf build
