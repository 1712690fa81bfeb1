// torchinit bench [SPEC ...] [--shape 4096,4096] [--threads N] [--repeat 5] [--json]: a quick
// timing of init_ with torchinit's Philox streams against the same spec on LibTorch's generator
// (Backend::Torch, the torch::nn::init calls), measured in this run on this machine. Medians of
// --repeat runs after one untimed run that maps the pages. `make bench` (Google Benchmark) is the
// full suite; this verb answers "how much faster on my machine, for my shapes".
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "torchinit/init.h"
#include "torchinit/spec.h"

namespace torchinit::cli {
namespace {

struct BenchArgs {
  std::vector<std::string> specs;
  std::vector<int64_t> shape{4096, 4096};
  std::string dtype = "float32";
  int threads = 0;
  int repeat = 5;
  bool json = false;
};

// Most timed runs per spec and backend: a median of 1000 is as good as it gets.
constexpr int kMaxRepeat = 1000;

// The specs timed when none are given: one per fill kernel family.
const std::vector<std::string>& default_specs() {
  static const std::vector<std::string> specs = {
      "uniform",       "kaiming_uniform",        "normal",
      "xavier_normal", "trunc_normal(std=0.02)", "orthogonal"};
  return specs;
}

// Median wall time in milliseconds of `repeat` calls of init_(t, spec, options).
double median_ms(at::Tensor& t, const std::string& spec, const InitOptions& options, int repeat) {
  init_(t, spec, options);  // untimed: maps the pages and warms the caches
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    init_(t, spec, options);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
}

void run_bench(const BenchArgs& a) {
  // --repeat, --threads and --shape were checked while parsing.
  const std::vector<std::string>& specs = a.specs.empty() ? default_specs() : a.specs;
  for (const std::string& spec : specs) (void)theory(spec, a.shape);  // bad specs fail up front
  check_tensor_fits("bench", "--shape", a.shape, a.dtype);
  if (a.threads > 0) at::set_num_threads(a.threads);

  at::Tensor t = at::empty(a.shape, at::TensorOptions().dtype(parse_dtype(a.dtype, "bench")));
  const double megabytes = double(t.numel()) * double(t.element_size()) / 1e6;
  nlohmann::json rows = nlohmann::json::array();
  if (!a.json)
    fmt::print(
        "shape [{}] {} ({:.0f} MB), {} threads, median of {} runs\n{:<28} {:>12} {:>12} "
        "{:>9} {:>10}\n",
        fmt::join(a.shape, ","), a.dtype, megabytes, at::get_num_threads(), a.repeat, "spec",
        "torchinit ms", "LibTorch ms", "speedup", "GB/s");
  for (const std::string& spec : specs) {
    const auto options = InitOptions().seed(1).key("bench");
    const double ours = median_ms(t, spec, options, a.repeat);
    const double torch = median_ms(t, spec, InitOptions(options).backend(Backend::Torch), a.repeat);
    const double gbps = megabytes / ours;  // MB per ms = GB per s
    if (a.json) {
      rows.push_back({{"spec", Spec::parse(spec).str()},
                      {"torchinit_ms", ours},
                      {"libtorch_ms", torch},
                      {"speedup", torch / ours},
                      {"torchinit_GBps", gbps}});
    } else {
      fmt::print("{:<28} {:>12.2f} {:>12.2f} {:>8.2f}x {:>10.2f}\n", spec, ours, torch,
                 torch / ours, gbps);
      std::fflush(stdout);  // one row per spec as it finishes: large shapes take a while
    }
  }
  if (a.json)
    fmt::print("{}\n", nlohmann::json{{"shape", a.shape},
                                      {"dtype", a.dtype},
                                      {"threads", at::get_num_threads()},
                                      {"repeat", a.repeat},
                                      {"rows", rows}}
                           .dump(2));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand(
      "bench", "Time init_ against LibTorch's generator for some specs on this machine (medians)");
  cmd->add_option("specs", args->specs,
                  "Initializer specs (default: uniform, kaiming_uniform, normal, xavier_normal, "
                  "trunc_normal(std=0.02), orthogonal)");
  add_shape_option(*cmd, "--shape", args->shape, "Tensor shape, comma-separated")
      ->default_str("4096,4096");
  cmd->add_option("--dtype", args->dtype, "float32, float64, float16 or bfloat16")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads,
                  fmt::format("Intra-op threads: 0 (LibTorch's default) up to 4 x this machine's "
                              "{} hardware threads",
                              max_threads() / 4))
      ->transform(integer_in(0, max_threads()))
      ->capture_default_str();
  cmd->add_option("--repeat", args->repeat, "Timed runs per spec and backend")
      ->transform(integer_in(1, kMaxRepeat))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print JSON instead of a table");
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace torchinit::cli
