// residual_stream (residual_stream.h): the pre-LN recursion from a Report, against a one-token
// batch through the probe.
#include "torchinit/residual_stream.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/randint.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "torchinit/activation.h"
#include "torchinit/nn/gpt.h"
#include "torchinit/nn/probe.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace {

constexpr const char* kStreamWho = "torchinit::residual_stream";

// E[w²] of a parameter's values by its Report row; 0 for a parameter the model does not have.
double second_moment(const Report& report,
                     const torch::OrderedDict<std::string, at::Tensor>& params,
                     const std::string& path, bool zero_mean) {
  if (!params.contains(path)) return 0;
  const ReportRow& row = report.at(path);
  TORCH_CHECK(!row.spec.empty(), kStreamWho, ": the report has no spec for ", path,
              "; apply a plan that matches every parameter");
  TORCH_CHECK(!zero_mean || row.theory.mean() == 0, kStreamWho, ": ", path, " has mean ",
              row.theory.mean(), " (", row.spec, "); the recursion assumes zero-mean weights");
  return row.theory.variance() + row.theory.mean() * row.theory.mean();
}

struct BranchRecorder : nn::Probe {
  std::map<std::string, double> mean_square;
  void record(const std::string& path, const std::string&, const at::Tensor& output,
              const torch::nn::Module*) override {
    mean_square[path] = output.to(at::kDouble).square().mean().item<double>();
  }
};

}  // namespace

ResidualStream residual_stream(torch::nn::Module& model, const Report& report,
                               const ResidualStreamOptions& options) {
  auto* gpt = dynamic_cast<nn::GPTImpl*>(&model);
  TORCH_CHECK(gpt != nullptr, kStreamWho, ": expected a torchinit::nn::GPT (got ",
              nn::short_type_name(model), ")");
  TORCH_CHECK(options.batch() >= 1, kStreamWho, ": batch must be >= 1 (got ", options.batch(), ")");
  const nn::GPTOptions& o = gpt->options;
  TORCH_CHECK(o.norm() == "pre" && o.fused_qkv(), kStreamWho,
              ": the recursion is for pre-LN blocks with a fused QKV (got norm=", o.norm(),
              o.fused_qkv() ? "" : ", qkv=split", "); build the GPT with norm=pre, qkv=fused");
  const double d = double(o.width()), hidden = double(o.mlp_ratio() * o.width());
  const auto params = model.named_parameters();
  auto m2 = [&](const std::string& path, bool zero_mean = true) {
    return second_moment(report, params, path, zero_mean);
  };
  const Activation gelu = activation("gelu");

  ResidualStream out;
  double q = m2("tok_emb.weight") + m2("pos_emb.weight");
  out.points.push_back({"embed", q, 0});
  for (int64_t i = 0; i < o.depth(); ++i) {
    const std::string p = fmt::format("layers.{}.", i);
    // Σ_j y_j² of each LN's output: d (E[γ²] + E[β²]).
    const double s1 = d * (m2(p + "ln1.weight", false) + m2(p + "ln1.bias", false));
    const double s2 = d * (m2(p + "ln2.weight", false) + m2(p + "ln2.bias", false));
    const double v = m2(p + "attn.qkv.weight") * s1 + m2(p + "attn.qkv.bias", false);
    const double attention = m2(p + "attn.proj.weight") * d * v + m2(p + "attn.proj.bias", false);
    const double u = m2(p + "mlp.fc1.weight") * s2 + m2(p + "mlp.fc1.bias", false);
    const double mlp =
        m2(p + "mlp.fc2.weight") * hidden * gelu.second_moment(u) + m2(p + "mlp.fc2.bias", false);
    q += attention + mlp;
    out.points.push_back({fmt::format("layers.{}", i), q, 0});
  }

  at::Generator gen = at::detail::createCPUGenerator(options.seed());
  const at::Tensor tokens = at::randint(o.vocab(), {options.batch(), 1}, gen, at::kLong);
  BranchRecorder recorder;
  {
    at::NoGradGuard no_grad;
    nn::forward_probed(model, tokens, recorder);
  }
  for (auto& point : out.points) point.measured = recorder.mean_square.at(point.path);
  return out;
}

double ResidualStream::max_log_ratio() const {
  double worst = 0;
  for (const auto& p : points)
    worst = std::max(worst, std::abs(std::log(p.measured / p.predicted)));
  return worst;
}

std::string ResidualStream::table() const {
  std::string out =
      fmt::format("{:<12} {:>12} {:>12} {:>8}\n", "after", "predicted", "measured", "ratio");
  for (const auto& p : points)
    out += fmt::format("{:<12} {:>12.6g} {:>12.6g} {:>8.4f}\n", p.path, p.predicted, p.measured,
                       p.measured / p.predicted);
  return out;
}

}  // namespace torchinit
