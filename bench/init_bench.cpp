// Fill throughput of torchinit's Philox streams against LibTorch's generator and fill_ (the
// memory-write limit), in the same run. Elements per second; compare the rows of one run only.
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <benchmark/benchmark.h>
#include <torchinit/check.h>
#include <torchinit/init.h>

#include <cmath>

namespace {

constexpr int64_t kElements = int64_t(1) << 26;  // 64M float32 = 256 MiB, far beyond cache

void run(benchmark::State& state, const char* spec, torchinit::Backend backend) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  at::Tensor t = at::empty({kElements / 4096, 4096});
  const auto options = torchinit::InitOptions().seed(1).key("bench").backend(backend);
  for (auto _ : state) {
    torchinit::init_(t, spec, options);
    benchmark::DoNotOptimize(t.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * kElements);
}

void fill_limit(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  at::Tensor t = at::empty({kElements});
  for (auto _ : state) {
    t.fill_(1.0);
    benchmark::DoNotOptimize(t.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * kElements);
}

// check() of a 64M-element tensor against LibTorch's var() of the same tensor.
void check_tensor(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  at::Tensor t = at::empty({kElements / 4096, 4096});
  torchinit::init_(t, "normal(std=0.02)", torchinit::InitOptions().seed(1));
  const auto theory = torchinit::Distribution::normal(0, 0.02);
  for (auto _ : state) benchmark::DoNotOptimize(torchinit::check(t, theory).passed());
  state.SetItemsProcessed(state.iterations() * kElements);
}

void torch_var(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  at::Tensor t = at::empty({kElements / 4096, 4096});
  torchinit::init_(t, "normal(std=0.02)", torchinit::InitOptions().seed(1));
  for (auto _ : state) benchmark::DoNotOptimize(t.var().item<double>());
  state.SetItemsProcessed(state.iterations() * kElements);
}

BENCHMARK(check_tensor)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(torch_var)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

#define TORCHINIT_BENCH(name, spec)                                          \
  BENCHMARK_CAPTURE(run, name##_torchinit, spec, torchinit::Backend::Philox) \
      ->Arg(1)                                                               \
      ->Arg(2)                                                               \
      ->Unit(benchmark::kMillisecond)                                        \
      ->UseRealTime();                                                       \
  BENCHMARK_CAPTURE(run, name##_libtorch, spec, torchinit::Backend::Torch)   \
      ->Arg(1)                                                               \
      ->Arg(2)                                                               \
      ->Unit(benchmark::kMillisecond)                                        \
      ->UseRealTime();

TORCHINIT_BENCH(uniform, "uniform(a=-1, b=1)")
TORCHINIT_BENCH(normal, "normal(std=0.02)")
TORCHINIT_BENCH(trunc_normal, "trunc_normal(std=0.02, a=-0.04, b=0.04)")
TORCHINIT_BENCH(kaiming_uniform, "kaiming_uniform(nonlinearity=relu)")
BENCHMARK(fill_limit)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
