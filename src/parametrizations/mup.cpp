// Parametrization::mup: μP's init std per parameter as an explicit plan, its forward multipliers
// in the modules' buffers, and its multipliers in the Report (parametrization.h).
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/any.h>

#include <cmath>
#include <map>
#include <utility>

#include "parametrizations/module_path.h"
#include "parametrizations/width_class.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/projection.h"
#include "torchinit/nn/transformer_block.h"
#include "torchinit/parametrization.h"

namespace torchinit {
namespace {

constexpr const char* kMupWho = "torchinit::Parametrization::mup";

// The spec that draws `d` scaled by `scale` (d: the base plan's theory of one element at the base
// width), or "" for a family μP cannot rescale.
std::string scaled_spec(const Distribution& d, double scale) {
  switch (d.kind()) {
    case Distribution::Kind::Constant:
      return d.mean() == 0 ? "zeros" : fmt::format("constant(val={})", d.mean() * scale);
    case Distribution::Kind::Uniform:
      return fmt::format("uniform(a={}, b={})", d.param("a") * scale, d.param("b") * scale);
    case Distribution::Kind::Normal:
      return fmt::format("normal(mean={}, std={})", d.mean() * scale, d.std() * scale);
    case Distribution::Kind::TruncatedNormal:
      return fmt::format("trunc_normal(mean={}, std={}, a={}, b={})", d.param("mean") * scale,
                         d.param("std") * scale, d.param("a") * scale, d.param("b") * scale);
    default:
      return "";
  }
}

Parametrization::Base describe_base(const torch::nn::Module& base, const Plan& base_plan) {
  Parametrization::Base b;
  b.report = base_plan.explain(base);
  for (const auto& item : base.named_modules()) {
    if (const auto* p = dynamic_cast<const nn::ProjectionImpl*>(item.value().get()))
      b.projections[item.key()] = {p->options.in_features(), p->options.out_features()};
    if (const auto* a = dynamic_cast<const nn::SelfAttentionImpl*>(item.value().get()))
      b.head_widths[item.key()] = a->options.width() / a->options.heads();
    if (const auto* a = dynamic_cast<const torch::nn::MultiheadAttentionImpl*>(item.value().get()))
      b.multihead_head_widths[item.key()] = a->options.embed_dim() / a->options.num_heads();
  }
  return b;
}

template <class Map>
const typename Map::mapped_type& in_base(const Map& map, const std::string& path,
                                         const char* what) {
  const auto it = map.find(path);
  TORCH_CHECK(it != map.end(), kMupWho, ": the model has ", what, " '", path,
              "' and the base model does not; the base must be the same architecture at a "
              "smaller width");
  return it->second;
}

}  // namespace

Parametrization::Parametrization(Base base, Plan base_plan, MupOptions options)
    : base_(std::move(base)), base_plan_(std::move(base_plan)), options_(options) {}

Parametrization Parametrization::mup(const torch::nn::Module& base, const Plan& base_plan,
                                     const MupOptions& options) {
  return Parametrization(describe_base(base, base_plan), base_plan, options);
}

Parametrization Parametrization::mup(std::string_view base_model, const Plan& base_plan,
                                     const MupOptions& options) {
  const torch::nn::AnyModule base = nn::make(base_model);
  return mup(*base.ptr(), base_plan, options);
}

std::string Parametrization::name() const {
  if (deepnet_layers_ > 0) return fmt::format("deepnet(layers={})", deepnet_layers_);
  if (u_mup_) {
    const UmupOptions& o = *u_mup_;
    return fmt::format(
        "u_mup(optimizer=adam, residual_mult={}, residual_attn_ratio={}, attn_softmax_mult={}, "
        "ffn_act_mult={}, output_mult={})",
        o.residual_mult(), o.residual_attn_ratio(), o.attn_softmax_mult(), o.ffn_act_mult(),
        o.output_mult());
  }
  return fmt::format("mup(optimizer={})",
                     options_.optimizer() == OptimizerKind::Adam ? "adam" : "sgd");
}

double Parametrization::predicted_update_slope(std::string_view layer_type) const {
  return u_mup_ && layer_type == "embed" ? -0.5 : 0.0;
}

Report Parametrization::resolve(const torch::nn::Module& model, const ApplyOptions& options,
                                torch::nn::Module* writable) const {
  if (deepnet_layers_ > 0) return resolve_deepnet(model, options, writable);
  if (u_mup_) return resolve_u_mup(model, options, writable);
  // 1. The forward multipliers, by module: Projections that are readouts get 1/m on their input,
  //    SelfAttentions √(base d_head / d_head) on their logits.
  struct Buffer {
    at::Tensor tensor;
    std::string path;
    double value;
  };
  std::vector<Buffer> buffers;
  std::map<std::string, double> readout_multiplier;  // weight path → 1/m
  std::vector<std::string> warnings;
  for (const auto& item : model.named_modules()) {
    const std::string& path = item.key();
    if (auto* p = dynamic_cast<nn::ProjectionImpl*>(item.value().get())) {
      const auto [in0, out0] = in_base(base_.projections, path, "the Projection");
      const int64_t in = p->options.in_features(), out = p->options.out_features();
      TORCH_CHECK(in >= in0 && out >= out0, kMupWho, ": the base model is wider than the model at ",
                  path, " (in/out features ", in0, "/", out0, " > ", in, "/", out,
                  "); give a base model of width at most the model's");
      const double alpha = in != in0 && out == out0 ? double(in0) / double(in) : 1.0;
      if (alpha != 1) readout_multiplier[detail::path_in(path, "weight")] = alpha;
      buffers.push_back({p->multiplier, detail::path_in(path, "multiplier"), alpha});
    }
    if (auto* a = dynamic_cast<nn::SelfAttentionImpl*>(item.value().get())) {
      const int64_t head = a->options.width() / a->options.heads();
      const int64_t head0 = in_base(base_.head_widths, path, "the SelfAttention");
      TORCH_CHECK(head >= head0, kMupWho, ": the base model is wider than the model at ", path,
                  " (head width ", head0, " > ", head,
                  "); give a base model of width at most the model's");
      buffers.push_back({a->logit_multiplier, detail::path_in(path, "logit_multiplier"),
                         std::sqrt(double(head0) / double(head))});
    }
    if (const auto* a = dynamic_cast<torch::nn::MultiheadAttentionImpl*>(item.value().get())) {
      const int64_t head = a->options.embed_dim() / a->options.num_heads();
      const auto it = base_.multihead_head_widths.find(path);
      if (it != base_.multihead_head_widths.end() && it->second != head)
        warnings.push_back(fmt::format(
            "{}: torch::nn::MultiheadAttention at {} divides its logits by sqrt(head width) "
            "({} here, {} in the base); muP needs 1/head width: use torchinit::nn::SelfAttention",
            name(), path, head, it->second));
    }
  }

  // 2. Each parameter's class and init: the base plan's theory at the base width, rescaled.
  const Report planned = base_plan_.explain(model, options);
  std::map<std::string, const ReportRow*> base_rows;
  for (const auto& r : base_.report.rows()) {
    base_rows[r.path] = &r;
    for (const auto& a : r.aliases) base_rows[a] = &r;
  }
  Plan plan;
  std::map<std::string, Multipliers> multipliers;
  for (const auto& row : planned.rows()) {
    if (row.spec.empty()) continue;  // unmatched under a non-strict plan: left as it is
    const ReportRow& base = *in_base(base_rows, row.path, "the parameter");
    TORCH_CHECK(!base.spec.empty(), kMupWho, ": the base plan matches no rule for ", row.path,
                " in the base model");
    const detail::WidthClass c = detail::width_class(row, base);
    bool has_multiplier = readout_multiplier.count(row.path) > 0;
    for (const auto& alias : row.aliases) has_multiplier |= readout_multiplier.count(alias) > 0;
    const Multipliers m = detail::mup_multipliers(c, options_.optimizer(), has_multiplier);
    std::string spec = scaled_spec(base.theory, m.init_scale);
    if (spec.empty()) {
      TORCH_CHECK(c.name == "finite", kMupWho, ": ", row.path, " (", c.name, ", m = ", c.width_mult,
                  ") has the base init ", base.spec, " (", base.theory.family(),
                  "), which muP cannot rescale with width; give it an element-wise spec in the "
                  "base plan (normal, uniform, trunc_normal, a constant, or a fan-based one)");
      spec = row.spec;  // nothing grows: the base plan's init as it is
    }
    plan.rule(row.path, spec);
    for (const auto& alias : row.aliases) plan.rule(alias, spec);
    multipliers[row.path] = m;
  }

  // 3. Validate and write (Plan::apply validates every rule before its first write), then the
  //    buffers, which cannot fail.
  Report report = writable ? plan.apply(*writable, options) : plan.explain(model, options);
  report.set_parametrization(name());
  for (ReportRow& row : report.mutable_rows()) {
    const auto it = multipliers.find(row.path);
    if (it != multipliers.end()) row.multipliers = it->second;
  }
  at::NoGradGuard no_grad;
  for (const Buffer& b : buffers) {
    if (writable) b.tensor.fill_(b.value);
    if (b.value != 1) report.add_buffer(b.path, b.value);
  }
  for (auto& w : warnings) report.warn(std::move(w));
  return report;
}

Report Parametrization::apply(torch::nn::Module& model, const ApplyOptions& options) const {
  return resolve(model, options, &model);
}

Report Parametrization::apply(const torch::nn::AnyModule& model,
                              const ApplyOptions& options) const {
  TORCH_CHECK(!model.is_empty(), kMupWho, ": empty AnyModule");
  return apply(*model.ptr(), options);
}

Report Parametrization::explain(const torch::nn::Module& model, const ApplyOptions& options) const {
  return resolve(model, options, /*writable=*/nullptr);
}

}  // namespace torchinit
