#include "torchinit/nn/transformer_block.h"

#include <ATen/ops/gelu.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/triu.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <utility>

#include "theory/gaussian.h"

namespace torchinit::nn {
namespace {

void check_block_options(const TransformerBlockOptions& o, const char* who) {
  TORCH_CHECK(o.width() > 0 && o.heads() > 0 && o.mlp_ratio() > 0, who,
              ": expected width, heads and mlp_ratio > 0 (got ", o.width(), ", ", o.heads(), ", ",
              o.mlp_ratio(), ")");
  TORCH_CHECK(o.width() % o.heads() == 0, who, ": heads (", o.heads(), ") must divide width (",
              o.width(), "); use a width that is a multiple of ", o.heads());
  TORCH_CHECK(o.norm() == "pre" || o.norm() == "post" || o.norm() == "none", who,
              ": norm must be pre, post or none (got '", o.norm(), "')");
  TORCH_CHECK(o.ops() == "standard" || o.ops() == "unit", who,
              ": ops must be standard or unit (got '", o.ops(), "')");
  TORCH_CHECK(o.ops() == "standard" || o.norm() == "pre", who,
              ": ops=unit (u-muP) is pre-LN; use norm=pre (got norm=", o.norm(), ")");
}

bool unit_ops(const TransformerBlockOptions& o) { return o.ops() == "unit"; }

// lo^(1-a) hi^a: unit-scaling's logarithmic interpolation between two limits of an op's scale.
double log_interpolation(double a, double lo, double hi) {
  return std::exp(a * std::log(hi) + (1 - a) * std::log(lo));
}

// The unit-scaled attention's output scale s for T tokens, head width d_h and logit multiplier
// β: the interpolation between the flat-softmax limit √(c/T) and the one-hot limit 1.
double unit_attention_scale(int64_t tokens, int64_t head, double beta, bool causal) {
  const double t = double(tokens);
  const double flat = std::sqrt((causal ? std::log(t) : 1.0) / t);
  return 1 / log_interpolation(1 / (1 + 4 * double(head) / (beta * beta)), flat, 1.0);
}

// The unit-scaled GELU: gelu(γ x)/γ times its output scale.
torch::Tensor unit_gelu(const torch::Tensor& x, double gamma) {
  const double scale = log_interpolation(1 / (1 + 0.25 / (gamma * gamma)), 2.0,
                                         std::sqrt(2 / (1 - 1 / torchinit::detail::kPi)));
  const torch::Tensor g = gamma == 1 ? at::gelu(x) : at::gelu(x * gamma) / gamma;
  return g * scale;
}

void check_block_input(const TransformerBlockOptions& o, const torch::Tensor& x, const char* who) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == o.width(), who, ": expected input [batch, tokens, ",
              o.width(), "] (got ", x.sizes(), ")");
}

}  // namespace

TransformerBlockOptions::TransformerBlockOptions(int64_t width, int64_t heads)
    : width_(width), heads_(heads) {}

SelfAttentionImpl::SelfAttentionImpl(TransformerBlockOptions options)
    : options(std::move(options)) {
  reset();
}

void SelfAttentionImpl::reset() {
  check_block_options(options, "torchinit::nn::SelfAttention");
  const int64_t d = options.width();
  const bool bias = !unit_ops(options);  // u-muP's projections have none
  if (options.fused_qkv()) {
    qkv = register_module("qkv", Projection(ProjectionOptions(d, 3 * d).blocks(3).bias(bias)));
  } else {
    q = register_module("q", Projection(ProjectionOptions(d, d).bias(bias)));
    k = register_module("k", Projection(ProjectionOptions(d, d).bias(bias)));
    v = register_module("v", Projection(ProjectionOptions(d, d).bias(bias)));
  }
  proj =
      register_module("proj", Projection(ProjectionOptions(d, d).role("residual_out").bias(bias)));
  logit_multiplier = register_buffer("logit_multiplier", at::ones({}));
}

void SelfAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "torchinit::nn::SelfAttention(width=" << options.width()
         << ", heads=" << options.heads() << ", causal=" << (options.causal() ? "true" : "false")
         << (unit_ops(options) ? ", ops=unit" : "") << ")";
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x) {
  check_block_input(options, x, "torchinit::nn::SelfAttention");
  const int64_t b = x.size(0), t = x.size(1), d = options.width(), h = options.heads();
  torch::Tensor qh, kh, vh;  // [b, h, t, d/h]
  if (options.fused_qkv()) {
    // [b, t, 3d] → 3 × [b, h, t, d/h]
    const auto parts = qkv->forward(x).view({b, t, 3, h, d / h}).permute({2, 0, 3, 1, 4});
    qh = parts[0], kh = parts[1], vh = parts[2];
  } else {
    auto heads = [&](Projection& p) {
      return p->forward(x).view({b, t, h, d / h}).transpose(1, 2);
    };
    qh = heads(q), kh = heads(k), vh = heads(v);
  }
  const bool unit = unit_ops(options);
  // Standard: q kᵀ/√d_h · β; unit (u-muP): q kᵀ/d_h · β.
  torch::Tensor scores = at::matmul(qh, kh.transpose(-2, -1)) /
                         (unit ? double(d / h) : std::sqrt(double(d / h))) * logit_multiplier;
  if (options.causal()) {
    const torch::Tensor future = at::triu(at::ones({t, t}, x.options().dtype(at::kBool)), 1);
    scores = scores.masked_fill(future, -std::numeric_limits<double>::infinity());
  }
  torch::Tensor out = at::matmul(at::softmax(scores, -1), vh);  // [b, h, t, d/h]
  if (unit)
    out = out * unit_attention_scale(t, d / h, logit_multiplier.item<double>(), options.causal());
  return proj->forward(out.transpose(1, 2).reshape({b, t, d}));
}

FeedForwardImpl::FeedForwardImpl(TransformerBlockOptions options) : options(std::move(options)) {
  reset();
}

void FeedForwardImpl::reset() {
  check_block_options(options, "torchinit::nn::FeedForward");
  const int64_t d = options.width(), hidden = options.mlp_ratio() * options.width();
  const bool unit = unit_ops(options);
  fc1 = register_module("fc1", Projection(ProjectionOptions(d, hidden).bias(!unit)));
  fc2 = register_module("fc2",
                        Projection(ProjectionOptions(hidden, d).role("residual_out").bias(!unit)));
  if (unit) act_multiplier = register_buffer("act_multiplier", at::ones({}));
}

void FeedForwardImpl::pretty_print(std::ostream& stream) const {
  stream << "torchinit::nn::FeedForward(width=" << options.width()
         << ", hidden=" << options.mlp_ratio() * options.width()
         << (unit_ops(options) ? ", act=unit_gelu)" : ", act=gelu)");
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  if (unit_ops(options))
    return fc2->forward(unit_gelu(fc1->forward(x), act_multiplier.item<double>()));
  return fc2->forward(at::gelu(fc1->forward(x)));
}

TransformerBlockImpl::TransformerBlockImpl(TransformerBlockOptions options)
    : options(std::move(options)) {
  reset();
}

void TransformerBlockImpl::reset() {
  check_block_options(options, "torchinit::nn::TransformerBlock");
  const int64_t d = options.width();
  const bool norms = options.norm() != "none";
  if (norms) ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  attn = register_module("attn", SelfAttention(options));
  if (norms) ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  mlp = register_module("mlp", FeedForward(options));
  residual_multiplier = register_buffer("residual_multiplier", at::ones({}));
  if (unit_ops(options)) residual_tau = register_buffer("residual_tau", at::ones({2}));
}

void TransformerBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "torchinit::nn::TransformerBlock(width=" << options.width()
         << ", heads=" << options.heads() << ", mlp_ratio=" << options.mlp_ratio()
         << ", causal=" << (options.causal() ? "true" : "false") << ", norm=" << options.norm()
         << (options.fused_qkv() ? "" : ", qkv=split") << (unit_ops(options) ? ", ops=unit" : "")
         << ")";
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& input) {
  check_block_input(options, input, "torchinit::nn::TransformerBlock");
  const std::string& norm = options.norm();
  if (unit_ops(options)) {  // u-muP's residual_add: (τ f + x)/√(1 + τ²), per branch
    const double ta = residual_tau[0].item<double>(), tm = residual_tau[1].item<double>();
    torch::Tensor x =
        (input + attn->forward(ln1->forward(input)) * ta) * (1 / std::sqrt(1 + ta * ta));
    return (x + mlp->forward(ln2->forward(x)) * tm) * (1 / std::sqrt(1 + tm * tm));
  }
  if (norm == "pre") {  // no multiplication by α here: the default graph stays as it was
    torch::Tensor x = input + attn->forward(ln1->forward(input));
    return x + mlp->forward(ln2->forward(x));
  }
  torch::Tensor x = input * residual_multiplier + attn->forward(input);
  if (norm == "post") x = ln1->forward(x);
  x = x * residual_multiplier + mlp->forward(x);
  return norm == "post" ? ln2->forward(x) : x;
}

}  // namespace torchinit::nn
