// Parametrization::u_mup: u-μP's unit init as an explicit plan, its scales in the unit-scaled
// modules' buffers, and its multipliers in the Report (parametrization.h).
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/nn/module.h>

#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "parametrizations/module_path.h"
#include "torchinit/nn/projection.h"
#include "torchinit/nn/transformer_block.h"
#include "torchinit/parametrization.h"

namespace torchinit {
namespace {

constexpr const char* kUmupWho = "torchinit::Parametrization::u_mup";

bool inside_module(const std::string& path, const std::string& module_path) {
  return module_path.empty() || path.rfind(module_path + ".", 0) == 0;
}

// One buffer write, planned before any write happens.
struct UmupBufferWrite {
  at::Tensor tensor;
  std::vector<double> values;
  std::string path;
};

}  // namespace

double detail::u_mup_residual_tau(int64_t branch, int64_t branches, double residual_mult,
                                  double residual_attn_ratio) {
  const double alpha_mlp =
      residual_mult * std::sqrt(2 / (1 + residual_attn_ratio * residual_attn_ratio));
  const double alpha_attn = residual_attn_ratio * alpha_mlp;
  const double attn_before = double((branch + 1) / 2), mlp_before = double(branch / 2);
  const double alpha = branch % 2 == 0 ? alpha_attn : alpha_mlp;
  return alpha / std::sqrt(double(branches) / 2 + attn_before * alpha_attn * alpha_attn +
                           mlp_before * alpha_mlp * alpha_mlp);
}

Parametrization Parametrization::u_mup(const UmupOptions& options) {
  TORCH_CHECK(options.optimizer() == OptimizerKind::Adam, kUmupWho,
              ": u-muP's learning-rate rules here are Adam's (AdamW, Adam); SGD sees the "
              "backward-only gradient scales of unit-scaling that torchinit does not apply "
              "(parametrization.h); use MupOptions for muP with SGD");
  const std::pair<const char*, double> hyper[] = {
      {"residual_mult", options.residual_mult()},
      {"residual_attn_ratio", options.residual_attn_ratio()},
      {"attn_softmax_mult", options.attn_softmax_mult()},
      {"ffn_act_mult", options.ffn_act_mult()},
      {"output_mult", options.output_mult()}};
  for (const auto& [name, value] : hyper)
    TORCH_CHECK(std::isfinite(value) && value > 0, kUmupWho, ": ", name,
                " must be finite and > 0 (got ", value, "); 1 is u-muP's default");
  Parametrization p(Base{}, Plan{}, MupOptions{});
  p.u_mup_ = options;
  return p;
}

Report Parametrization::resolve_u_mup(const torch::nn::Module& model, const ApplyOptions& options,
                                      torch::nn::Module* writable) const {
  const UmupOptions& o = *u_mup_;
  // 1. The unit-scaled modules and their buffers, validated before anything is written.
  std::vector<std::pair<std::string, nn::TransformerBlockImpl*>> blocks;
  std::vector<UmupBufferWrite> writes;
  std::map<std::string, double> forward;  // weight path → forward multiplier
  for (const auto& item : model.named_modules()) {
    const std::string& path = item.key();
    if (auto* b = dynamic_cast<nn::TransformerBlockImpl*>(item.value().get())) {
      TORCH_CHECK(b->options.ops() == "unit", kUmupWho, ": the TransformerBlock at '", path,
                  "' has ", b->options.ops(),
                  " ops; u-muP needs unit-scaled ops: build the model with ops=unit "
                  "(gpt(..., ops=unit))");
      blocks.emplace_back(path, b);
    }
    if (auto* a = dynamic_cast<nn::SelfAttentionImpl*>(item.value().get()))
      writes.push_back({a->logit_multiplier,
                        {o.attn_softmax_mult()},
                        detail::path_in(path, "logit_multiplier")});
    if (auto* f = dynamic_cast<nn::FeedForwardImpl*>(item.value().get())) {
      TORCH_CHECK(f->act_multiplier.defined(), kUmupWho, ": the FeedForward at '", path,
                  "' has standard ops; build the model with ops=unit");
      writes.push_back(
          {f->act_multiplier, {o.ffn_act_mult()}, detail::path_in(path, "act_multiplier")});
    }
    if (auto* p = dynamic_cast<nn::ProjectionImpl*>(item.value().get())) {
      const double in = double(p->options.in_features());
      const double alpha =
          p->options.role() == "readout" ? o.output_mult() / in : 1 / std::sqrt(in);
      writes.push_back({p->multiplier, {alpha}, detail::path_in(path, "multiplier")});
      forward[detail::path_in(path, "weight")] = alpha;
    }
  }
  TORCH_CHECK(!blocks.empty(), kUmupWho,
              ": the model has no TransformerBlock; u-muP needs a model with unit-scaled ops "
              "(gpt(..., ops=unit))");
  const int64_t layers = int64_t(blocks.size());
  for (int64_t i = 0; i < layers; ++i) {
    const auto& [path, block] = blocks[size_t(i)];
    writes.push_back(
        {block->residual_tau,
         {detail::u_mup_residual_tau(2 * i, 2 * layers, o.residual_mult(), o.residual_attn_ratio()),
          detail::u_mup_residual_tau(2 * i + 1, 2 * layers, o.residual_mult(),
                                     o.residual_attn_ratio())},
         detail::path_in(path, "residual_tau")});
  }

  // 2. Each parameter's class, init and multipliers, from what its module is. A plan that covers
  //    every parameter explains each one's module type, role, shape and tied aliases.
  const Report all = Plan::parse("* = zeros").explain(model, options);
  Plan plan;
  std::map<std::string, Multipliers> multipliers;
  const double depth = 1 / std::sqrt(double(layers));
  for (const ReportRow& row : all.rows()) {
    TORCH_CHECK(row.aliases.empty(), kUmupWho, ": ", row.path, " is shared with ",
                row.aliases.front(),
                "; u-muP gives an embedding and the readout different scales: untie them "
                "(tied=false)");
    bool in_block = false;
    for (const auto& b : blocks) in_block |= inside_module(row.path, b.first);
    const double delta = in_block ? depth : 1.0;
    Multipliers m;
    std::string spec = "normal(mean=0, std=1)";
    if (row.module_type == "Embedding" && row.shape.size() == 2) {
      m.width_class = "input";
      m.lr = delta / std::sqrt(double(row.shape[1]));
    } else if (row.module_type == "Projection" && row.shape.size() == 2) {
      const bool readout = row.role == "readout";
      m.width_class = readout ? "readout" : "hidden";
      m.forward = forward.at(row.path);
      m.lr = readout ? 1.0 : delta / std::sqrt(double(row.shape[1]));
    } else if ((row.module_type == "Projection" || row.module_type == "LayerNorm") &&
               row.shape.size() == 1) {
      m.width_class = "vector";
      m.lr = delta;
      spec = row.role == "norm_scale" ? "ones" : "zeros";
    } else {
      TORCH_CHECK(false, kUmupWho, ": ", row.path, " belongs to a ", row.module_type,
                  ", which has no unit-scaled op; u-muP covers gpt(..., ops=unit) (Embedding, "
                  "Projection, LayerNorm)");
    }
    m.weight_decay = 1 / m.lr;
    plan.rule(row.path, spec);
    multipliers[row.path] = m;
  }

  // 3. Validate and write (Plan::apply validates every rule before its first write), then the
  //    buffers, which cannot fail.
  Report report = writable ? plan.apply(*writable, options) : plan.explain(model, options);
  report.set_parametrization(name());
  for (ReportRow& row : report.mutable_rows()) row.multipliers = multipliers.at(row.path);
  at::NoGradGuard no_grad;
  for (const UmupBufferWrite& w : writes) {
    for (size_t i = 0; i < w.values.size(); ++i) {
      if (writable) w.tensor.view({-1})[int64_t(i)].fill_(w.values[i]);
      report.add_buffer(w.values.size() == 1 ? w.path : fmt::format("{}[{}]", w.path, i),
                        w.values[i]);
    }
  }
  return report;
}

}  // namespace torchinit
