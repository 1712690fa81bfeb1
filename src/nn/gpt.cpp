#include "torchinit/nn/gpt.h"

#include <ATen/ops/arange.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <ostream>
#include <utility>

#include "torchinit/nn/transformer_block.h"

namespace torchinit::nn {

GPTOptions::GPTOptions(int64_t vocab, int64_t context, int64_t width, int64_t depth, int64_t heads)
    : vocab_(vocab), context_(context), width_(width), depth_(depth), heads_(heads) {}

GPTImpl::GPTImpl(GPTOptions options) : options(std::move(options)) { reset(); }

void GPTImpl::reset() {
  const GPTOptions& o = options;
  TORCH_CHECK(o.vocab() > 0 && o.context() > 0 && o.depth() > 0,
              "torchinit::nn::GPT: ", "expected vocab, context and depth > 0 (got ", o.vocab(),
              ", ", o.context(), ", ", o.depth(), ")");
  tok_emb = register_module("tok_emb", torch::nn::Embedding(o.vocab(), o.width()));
  pos_emb = register_module("pos_emb", torch::nn::Embedding(o.context(), o.width()));
  layers = torch::nn::Sequential();
  for (int64_t i = 0; i < o.depth(); ++i) {
    layers->push_back(TransformerBlock(TransformerBlockOptions(o.width(), o.heads())
                                           .mlp_ratio(o.mlp_ratio())
                                           .causal(true)
                                           .norm(o.norm())
                                           .fused_qkv(o.fused_qkv())
                                           .ops(o.ops())));
  }
  register_module("layers", layers);
  if (o.norm() == "pre")
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.width()})));
  head = register_module(
      "head", Projection(ProjectionOptions(o.width(), o.vocab()).bias(false).role("readout")));
  if (o.tied()) {
    torch::NoGradGuard no_grad;
    head->weight.set_data(tok_emb->weight);  // one tensor, as LibTorch code ties weights
  }
}

void GPTImpl::pretty_print(std::ostream& stream) const {
  const GPTOptions& o = options;
  stream << "torchinit::nn::GPT(vocab=" << o.vocab() << ", context=" << o.context()
         << ", width=" << o.width() << ", depth=" << o.depth() << ", heads=" << o.heads()
         << ", mlp_ratio=" << o.mlp_ratio() << ", tied=" << (o.tied() ? "true" : "false");
  if (o.norm() != "pre") stream << ", norm=" << o.norm();
  if (!o.fused_qkv()) stream << ", qkv=split";
  if (o.ops() != "standard") stream << ", ops=" << o.ops();
  stream << ")";
}

torch::Tensor GPTImpl::embed(const torch::Tensor& tokens) {
  TORCH_CHECK(
      tokens.dim() == 2 && tokens.scalar_type() == at::kLong && tokens.size(1) <= options.context(),
      "torchinit::nn::GPT: expected int64 token ids [batch, tokens] with tokens <= ",
      options.context(), " (got ", tokens.scalar_type(), " ", tokens.sizes(), ")");
  const torch::Tensor positions = at::arange(tokens.size(1), tokens.options());
  const torch::Tensor sum = tok_emb->forward(tokens) + pos_emb->forward(positions);
  return options.ops() == "unit" ? sum * (1 / std::sqrt(2.0)) : sum;
}

torch::Tensor GPTImpl::forward(const torch::Tensor& tokens) {
  torch::Tensor x = layers->forward(embed(tokens));
  return head->forward(norm.is_empty() ? x : norm->forward(x));
}

torch::Tensor GPTImpl::forward_probed(const torch::Tensor& tokens, Probe& probe) {
  torch::Tensor x = embed(tokens);
  probe.record("embed", "embed", x, nullptr);
  x = torchinit::nn::forward_probed(*layers, x, probe, "layers");
  if (!norm.is_empty()) {
    x = norm->forward(x);
    probe.record("norm", "LayerNorm", x, norm.get());
  }
  x = head->forward(x);
  probe.record("head", "Projection", x, head.get());
  return x;
}

}  // namespace torchinit::nn
