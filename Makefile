# torchinit: `make demo` and `make test` set everything up on a fresh Debian 12 machine.
PRESET ?= release
JOBS ?= $(shell nproc)
BUILD := build/$(PRESET)
CLI := $(BUILD)/torchinit
WERROR ?= OFF
BENCH_ARGS ?= --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

.PHONY: all deps configure build demo test bench format clean

all: build

deps:
	@bash cmake/install-deps.sh

configure: deps
	cmake --preset $(PRESET) -DTORCHINIT_WERROR=$(WERROR)

build: configure
	cmake --build --preset $(PRESET) -j $(JOBS)

demo: build
	$(CLI) list
	$(CLI) list --models
	$(CLI) explain "kaiming_normal(mode=fan_out, nonlinearity=relu)" --shape 64,32,3,3
	$(CLI) explain "variance_scaling(scale=2, mode=fan_avg, distribution=truncated_normal)" --shape 512,256
	$(CLI) check "xavier_uniform(gain=tanh)" --shape 512,256 --seed 1
	$(CLI) check "orthogonal(gain=relu)" --shape 128,256 --seed 1
	$(CLI) check "trunc_normal(std=0.02, a=-0.04, b=0.04)" --shape 1024,1024 --dtype bfloat16 --seed 1
	$(CLI) explain --model "resnet(depth=18, classes=10, stem=cifar)" --plan resnet
	$(CLI) check --model "resnet(depth=18, classes=10, stem=cifar)" --plan resnet --seed 42
	$(CLI) check --model "lstm(in=32, hidden=64, layers=2, out=10)" --plan orthogonal_rnn --seed 7

test: build
	ctest --preset $(PRESET)

bench: deps
	cmake --preset release -DTORCHINIT_BUILD_BENCH=ON
	cmake --build --preset release -j $(JOBS) --target torchinit_bench
	build/release/bench/torchinit_bench --benchmark_out=bench/results.json --benchmark_out_format=json $(BENCH_ARGS)

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf build
