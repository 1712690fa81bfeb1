// Fill throughput of torchinit's Philox streams against LibTorch's generator and fill_ (the
// memory-write limit), in the same run, at 1 and 2 threads; orthogonal; whole-model apply with
// peak RSS. Elements per second; compare the rows of one run only. A ratio table (medians when
// --benchmark_repetitions > 1) is printed at the end.
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <torch/nn/init.h>
#include <torch/nn/module.h>
#include <torchinit/check.h>
#include <torchinit/init.h>
#include <torchinit/nn/make.h>
#include <torchinit/plan.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int64_t kElements = int64_t(1) << 26;  // 64M float32 = 256 MiB, far beyond cache

void set_threads(benchmark::State& state) { at::set_num_threads(static_cast<int>(state.range(0))); }

// A 64M-element float32 tensor whose pages are already mapped: on this VM a first touch costs
// more than the fill itself (~25 us per 4 KiB page), which would hide every difference.
at::Tensor touched_tensor() {
  at::Tensor t = at::empty({kElements / 4096, 4096});
  t.zero_();
  return t;
}

// torchinit::init_ with the Philox streams or with the LibTorch backend, which calls the same
// torch::nn::init functions (trunc_normal: LibTorch's composition uniform_->erfinv_->mul_->add_->
// clamp_).
void run(benchmark::State& state, const char* spec, torchinit::Backend backend) {
  set_threads(state);
  at::Tensor t = touched_tensor();
  const auto options = torchinit::InitOptions().seed(1).key("bench").backend(backend);
  for (auto _ : state) {
    torchinit::init_(t, spec, options);
    benchmark::DoNotOptimize(t.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * kElements);
}

void fill_limit(benchmark::State& state) {
  set_threads(state);
  at::Tensor t = touched_tensor();
  for (auto _ : state) {
    t.fill_(1.0);
    benchmark::DoNotOptimize(t.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * kElements);
}

// check() of a 64M-element tensor against LibTorch's var() of the same tensor.
void check_tensor(benchmark::State& state) {
  set_threads(state);
  at::Tensor t = at::empty({kElements / 4096, 4096});
  torchinit::init_(t, "normal(std=0.02)", torchinit::InitOptions().seed(1));
  const auto theory = torchinit::Distribution::normal(0, 0.02);
  for (auto _ : state) benchmark::DoNotOptimize(torchinit::check(t, theory).passed());
  state.SetItemsProcessed(state.iterations() * kElements);
}

void torch_var(benchmark::State& state) {
  set_threads(state);
  at::Tensor t = at::empty({kElements / 4096, 4096});
  torchinit::init_(t, "normal(std=0.02)", torchinit::InitOptions().seed(1));
  for (auto _ : state) benchmark::DoNotOptimize(t.var().item<double>());
  state.SetItemsProcessed(state.iterations() * kElements);
}

// orthogonal of a 2048x2048 float32 matrix: torchinit vs torch::nn::init::orthogonal_.
void orthogonal(benchmark::State& state, bool torchinit_philox) {
  set_threads(state);
  at::Tensor t = at::empty({2048, 2048});
  t.zero_();
  const auto options = torchinit::InitOptions().seed(1).key("bench");
  for (auto _ : state) {
    if (torchinit_philox) {
      torchinit::init_(t, "orthogonal", options);
    } else {
      torch::NoGradGuard no_grad;
      torch::nn::init::orthogonal_(t);
    }
    benchmark::DoNotOptimize(t.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * t.numel());
}

// --- whole models -------------------------------------------------------------------------------

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

long peak_resident_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss * 1024;  // Linux reports KiB
}

// A transformer-sized stack of Linear-shaped parameters (d = 2048, 26 layers of q, k, v, o, fc1,
// fc2 weights: 1.31e9 parameters, 5.2 GB), created with torch::empty (no memory touched yet).
std::shared_ptr<torch::nn::Module> make_linear_stack() {
  auto m = std::make_shared<torch::nn::Module>("LinearStack");
  constexpr int64_t d = 2048;
  for (int layer = 0; layer < 26; ++layer) {
    const std::string p = "layer" + std::to_string(layer) + "_";
    for (const char* name : {"q", "k", "v", "o"})
      m->register_parameter(p + name + "_weight", torch::empty({d, d}), false);
    m->register_parameter(p + "fc1_weight", torch::empty({4 * d, d}), false);
    m->register_parameter(p + "fc2_weight", torch::empty({d, 4 * d}), false);
  }
  return m;
}

struct Model {
  std::shared_ptr<torch::nn::Module> module;
  torchinit::Plan plan;
  int64_t parameters = 0;
  long baseline_rss = 0;  // resident bytes before the parameters were created
};

// Built once per process (the stack holds 5.2 GB).
Model& model(const std::string& which) {
  static std::map<std::string, Model> models;
  auto it = models.find(which);
  if (it != models.end()) return it->second;
  Model m;
  m.baseline_rss = resident_bytes();
  if (which == "resnet50") {
    m.module = torchinit::nn::make("resnet(depth=50)").ptr();
    m.plan = torchinit::Plan::parse(
        ":norm_scale = ones\n:norm_shift = zeros\n:bias = zeros\n"
        "* = kaiming_normal(nonlinearity=relu)");
  } else {
    m.module = make_linear_stack();
    m.plan = torchinit::Plan::parse("* = normal(std=0.02)");
  }
  for (const auto& p : m.module->parameters()) {
    m.parameters += p.numel();
    p.detach().zero_();  // map the pages now, not in the first timed iteration
  }
  return models.emplace(which, std::move(m)).first->second;
}

// The same distributions with torch::nn::init, parameter by parameter.
void torch_loop(torch::nn::Module& module, const std::string& which) {
  torch::NoGradGuard no_grad;
  for (const auto& item : module.named_parameters()) {
    at::Tensor p = item.value();
    if (which != "resnet50") {
      torch::nn::init::normal_(p, 0, 0.02);
    } else if (p.dim() >= 2) {
      torch::nn::init::kaiming_normal_(p, 0, torch::kFanIn, torch::kReLU);
    } else if (item.key().size() >= 6 &&
               item.key().compare(item.key().size() - 6, 6, "weight") == 0) {
      torch::nn::init::ones_(p);
    } else {
      torch::nn::init::zeros_(p);
    }
  }
}

void whole_model(benchmark::State& state, const char* which, bool torchinit_philox) {
  set_threads(state);
  Model& m = model(which);
  for (auto _ : state) {
    if (torchinit_philox) {
      benchmark::DoNotOptimize(m.plan.apply(*m.module, torchinit::ApplyOptions().seed(1)));
    } else {
      torch_loop(*m.module, which);
    }
  }
  const double parameter_bytes = 4.0 * m.parameters;
  state.SetItemsProcessed(state.iterations() * m.parameters);
  state.counters["rss_overhead_MB"] =
      (peak_resident_bytes() - m.baseline_rss - parameter_bytes) / (1 << 20);
}

#define ARGS_1_2 ->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()

#define TORCHINIT_BENCH(name, spec)                                                    \
  BENCHMARK_CAPTURE(run, name##_torchinit, spec, torchinit::Backend::Philox) ARGS_1_2; \
  BENCHMARK_CAPTURE(run, name##_libtorch, spec, torchinit::Backend::Torch) ARGS_1_2;

BENCHMARK(fill_limit) ARGS_1_2;
TORCHINIT_BENCH(uniform, "uniform(a=-1, b=1)")
TORCHINIT_BENCH(xavier_uniform, "xavier_uniform")
TORCHINIT_BENCH(kaiming_uniform, "kaiming_uniform(nonlinearity=relu)")
TORCHINIT_BENCH(lecun_uniform, "lecun_uniform")
TORCHINIT_BENCH(normal, "normal(std=0.02)")
TORCHINIT_BENCH(xavier_normal, "xavier_normal")
TORCHINIT_BENCH(kaiming_normal, "kaiming_normal(nonlinearity=relu)")
TORCHINIT_BENCH(lecun_normal, "lecun_normal")
TORCHINIT_BENCH(trunc_normal, "trunc_normal(std=0.02, a=-0.04, b=0.04)")
BENCHMARK(check_tensor) ARGS_1_2;
BENCHMARK(torch_var) ARGS_1_2;
BENCHMARK_CAPTURE(orthogonal, torchinit, true) ARGS_1_2;
BENCHMARK_CAPTURE(orthogonal, libtorch, false) ARGS_1_2;
BENCHMARK_CAPTURE(whole_model, resnet50_torchinit, "resnet50", true) ARGS_1_2;
BENCHMARK_CAPTURE(whole_model, resnet50_libtorch, "resnet50", false) ARGS_1_2;
BENCHMARK_CAPTURE(whole_model, stack1p3b_torchinit, "stack", true) ARGS_1_2->Iterations(1);
BENCHMARK_CAPTURE(whole_model, stack1p3b_libtorch, "stack", false) ARGS_1_2->Iterations(1);

// --- summary ------------------------------------------------------------------------------------

// Keeps each benchmark's median (or its only run) real time, and rss counters, for the table.
class Summary : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      // function_name is e.g. "run/uniform_torchinit", args the thread count
      const std::string name = r.run_name.function_name, threads = r.run_name.args;
      if (r.run_type == Run::RT_Aggregate || !has_median_.count(name + threads)) {
        ms_[name][threads] = r.GetAdjustedRealTime();
        const auto rss = r.counters.find("rss_overhead_MB");
        if (rss != r.counters.end()) rss_[name][threads] = rss->second.value;
      }
      if (r.run_type == Run::RT_Aggregate) has_median_[name + threads] = true;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void print_table() const {
    std::printf(
        "\nSummary (ms are medians of real time; ratio = LibTorch time / torchinit time; "
        "vs fill_ = fill_ time / torchinit time; 1->2 thr = speed-up of torchinit)\n");
    std::printf("%-18s %10s %10s %10s %10s %9s %9s %9s\n", "initializer", "ti 1thr", "ti 2thr",
                "lt 1thr", "lt 2thr", "ratio@2", "vs fill_", "1->2 thr");
    const char* inits[] = {"uniform",        "xavier_uniform", "kaiming_uniform",
                           "lecun_uniform",  "normal",         "xavier_normal",
                           "kaiming_normal", "lecun_normal",   "trunc_normal"};
    for (const char* i : inits)
      row(i, "run/" + std::string(i) + "_torchinit", "run/" + std::string(i) + "_libtorch");
    row("orthogonal 2048^2", "orthogonal/torchinit", "orthogonal/libtorch");
    row("resnet50 apply", "whole_model/resnet50_torchinit", "whole_model/resnet50_libtorch");
    row("1.3B stack apply", "whole_model/stack1p3b_torchinit", "whole_model/stack1p3b_libtorch");
    row("check vs var()", "check_tensor", "torch_var");
    for (const auto& [name, by_threads] : rss_)
      for (const auto& [threads, mb] : by_threads)
        std::printf("peak RSS overhead %s @%s thr: %.1f MB\n", name.c_str(), threads.c_str(), mb);
  }

 private:
  double get(const std::string& name, const char* threads) const {
    const auto it = ms_.find(name);
    if (it == ms_.end()) return NAN;
    const auto t = it->second.find(threads);
    return t == it->second.end() ? NAN : t->second;
  }
  void row(const std::string& label, const std::string& ti, const std::string& lt) const {
    const double a1 = get(ti, "1"), a2 = get(ti, "2"), b1 = get(lt, "1"), b2 = get(lt, "2");
    const double fill2 = get("fill_limit", "2");
    if (std::isnan(a2) && std::isnan(b2)) return;
    std::printf("%-18s %10.1f %10.1f %10.1f %10.1f %8.2fx %8.2fx %8.2fx\n", label.c_str(), a1, a2,
                b1, b2, b2 / a2, fill2 / a2, a1 / a2);
  }

  std::map<std::string, std::map<std::string, double>> ms_, rss_;
  std::map<std::string, bool> has_median_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  Summary summary;
  benchmark::RunSpecifiedBenchmarks(&summary);
  summary.print_table();
  benchmark::Shutdown();
  return 0;
}
