// torchinit check SPEC --shape 512,256 --seed 1 [--dtype float32] [--alpha 1e-6] [--raw FILE]
// [--json]: initializes a tensor and checks it against the spec's theory, printing each statistic
// with its threshold. Exit status 1 when the check fails or is inconclusive.
#include <ATen/ops/empty.h>
#include <fmt/format.h>

#include <fstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "torchinit/check.h"
#include "torchinit/init.h"
#include "torchinit/nn/make.h"
#include "torchinit/plan.h"
#include "torchinit/spec.h"

namespace torchinit::cli {
namespace {

struct CheckArgs {
  std::string spec;
  std::vector<int64_t> shape;
  uint64_t seed = 0;
  std::string key;
  std::string dtype = "float32";
  double alpha = 1e-6;
  std::string model;
  std::string plan;
  int64_t layers = 0;
  std::string raw;
  bool json = false;
};

// --raw FILE: the initialized tensor's bytes, row-major in the machine's byte order, so other
// front ends (Python's torchinit.init_) can be compared byte for byte.
void write_raw(const at::Tensor& t, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  TORCH_CHECK(out, "torchinit check: cannot write --raw ", path, "; give a writable file path");
  const at::Tensor c = t.contiguous();
  out.write(static_cast<const char*>(c.data_ptr()),
            static_cast<std::streamsize>(c.numel() * c.element_size()));
  TORCH_CHECK(out.good(), "torchinit check: writing --raw ", path, " failed (disk full?)");
}

// --model M --plan P: initialize every parameter of the model and check each against its theory.
void run_check_model(const CheckArgs& a) {
  TORCH_CHECK(!a.plan.empty(), "torchinit check: --model needs --plan");
  TORCH_CHECK(a.raw.empty(), "torchinit check: --raw writes one tensor; give SPEC and --shape ",
              "instead of --model");
  const auto net = nn::make(a.model);
  const Report rep = load_plan(a.plan, a.layers).apply(net, ApplyOptions().seed(a.seed));
  const ModuleCheck mc = check(net, rep, CheckOptions().alpha(a.alpha));
  if (a.json) {
    fmt::print("{}\n", mc.json());
  } else {
    fmt::print("{}", mc.table());
    fmt::print(
        "{}: {} parameter blocks, {} inconclusive (too small for the power check), family-wise "
        "alpha {:.3g}\n",
        mc.passed() ? "PASS" : "FAIL", mc.results().size(), mc.inconclusive(), a.alpha);
  }
  if (!mc.passed()) throw CLI::RuntimeError(1);
}

void run_check(const CheckArgs& a) {
  if (!a.model.empty()) return run_check_model(a);
  TORCH_CHECK(!a.spec.empty() && !a.shape.empty(), "torchinit check: give SPEC and --shape, ",
              "or --model and --plan");
  check_tensor_fits("check", "--shape", a.shape, a.dtype);
  at::Tensor t = at::empty(a.shape, at::TensorOptions().dtype(parse_dtype(a.dtype, "check")));
  init_(t, a.spec, InitOptions().seed(a.seed).key(a.key));
  if (!a.raw.empty()) write_raw(t, a.raw);
  const CheckResult r = check(t, a.spec, CheckOptions().alpha(a.alpha));
  if (a.json) {
    fmt::print("{}\n", r.json());
  } else {
    fmt::print("{}  {}  n={}  alpha={:.3g}\n",
               r.passed()         ? "PASS"
               : r.inconclusive() ? "INCONCLUSIVE"
                                  : "FAIL",
               r.theory().str(), r.n(), r.alpha());
    for (const auto& s : r.statistics())
      fmt::print("  {:<5} {}\n", s.passed ? "ok" : "FAIL", s.detail);
    if (r.inconclusive()) fmt::print("  {}\n", r.summary().substr(r.summary().rfind("; ") + 2));
  }
  if (!r.passed()) throw CLI::RuntimeError(1);
}

}  // namespace

void add_check_command(CLI::App& app) {
  auto args = std::make_shared<CheckArgs>();
  auto* cmd =
      app.add_subcommand("check", "Initialize a tensor and check it against the spec's theory");
  cmd->add_option("spec", args->spec, "Initializer spec");
  add_shape_option(*cmd, "--shape", args->shape, "Tensor shape, comma-separated: 512,256");
  cmd->add_option("--model", args->model, "Model spec, e.g. \"resnet(depth=18, classes=10)\"");
  cmd->add_option("--plan", args->plan, "Preset name, rules file, or rules \"sel = spec; …\"");
  cmd->add_option("--layers", args->layers, "Transformer layers for the gpt2 preset")
      ->transform(integer_in(1, kMaxLayers));
  cmd->add_option("--seed", args->seed, "Stream seed")
      ->transform(seed_value())
      ->capture_default_str();
  cmd->add_option("--key", args->key, "Stream key (parameter path)");
  cmd->add_option("--dtype", args->dtype, "float32, float64, float16 or bfloat16")
      ->capture_default_str();
  cmd->add_option("--alpha", args->alpha, "False-alarm probability of the check")
      ->check(number_in(0, 1))
      ->capture_default_str();
  cmd->add_option("--raw", args->raw,
                  "Also write the initialized tensor's bytes (row-major, native byte order) to "
                  "this file; SPEC and --shape only");
  cmd->add_flag("--json", args->json, "Print JSON instead of text");
  cmd->callback([args] { run_check(*args); });
}

}  // namespace torchinit::cli
