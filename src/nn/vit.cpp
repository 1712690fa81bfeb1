#include "torchinit/nn/vit.h"

#include <c10/util/Exception.h>

#include <ostream>
#include <utility>

#include "torchinit/nn/transformer_block.h"

namespace torchinit::nn {

ViTOptions::ViTOptions(int64_t classes, int64_t width, int64_t depth, int64_t heads)
    : classes_(classes), width_(width), depth_(depth), heads_(heads) {}

ViTImpl::ViTImpl(ViTOptions options) : options(std::move(options)) { reset(); }

void ViTImpl::reset() {
  const ViTOptions& o = options;
  TORCH_CHECK(o.classes() > 0 && o.depth() > 0 && o.channels() > 0 && o.patch() > 0,
              "torchinit::nn::ViT: expected classes, depth, channels and patch > 0 (got ",
              o.classes(), ", ", o.depth(), ", ", o.channels(), ", ", o.patch(), ")");
  TORCH_CHECK(o.image() > 0 && o.image() % o.patch() == 0, "torchinit::nn::ViT: patch (", o.patch(),
              ") must divide image (", o.image(), ")");
  const int64_t tokens = (o.image() / o.patch()) * (o.image() / o.patch());
  patch = register_module(
      "patch", torch::nn::Conv2d(
                   torch::nn::Conv2dOptions(o.channels(), o.width(), o.patch()).stride(o.patch())));
  pos_emb = register_module("pos_emb", torch::nn::Embedding(tokens, o.width()));
  layers = torch::nn::Sequential();
  for (int64_t i = 0; i < o.depth(); ++i) {
    layers->push_back(TransformerBlock(TransformerBlockOptions(o.width(), o.heads())
                                           .mlp_ratio(o.mlp_ratio())
                                           .norm(o.norm())
                                           .fused_qkv(o.fused_qkv())));
  }
  register_module("layers", layers);
  if (o.norm() == "pre")
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.width()})));
  head = register_module("head",
                         Projection(ProjectionOptions(o.width(), o.classes()).role("readout")));
}

void ViTImpl::pretty_print(std::ostream& stream) const {
  const ViTOptions& o = options;
  stream << "torchinit::nn::ViT(classes=" << o.classes() << ", width=" << o.width()
         << ", depth=" << o.depth() << ", heads=" << o.heads() << ", mlp_ratio=" << o.mlp_ratio()
         << ", image=" << o.image() << ", patch=" << o.patch() << ", channels=" << o.channels();
  if (o.norm() != "pre") stream << ", norm=" << o.norm();
  if (!o.fused_qkv()) stream << ", qkv=split";
  stream << ")";
}

void ViTImpl::check_input(const torch::Tensor& x) const {
  const ViTOptions& o = options;
  TORCH_CHECK(
      x.dim() == 4 && x.size(1) == o.channels() && x.size(2) == o.image() && x.size(3) == o.image(),
      "torchinit::nn::ViT: expected images [batch, ", o.channels(), ", ", o.image(), ", ",
      o.image(), "] (got ", x.sizes(), ")");
}

torch::Tensor ViTImpl::forward(const torch::Tensor& images) {
  check_input(images);
  torch::Tensor x = patch->forward(images).flatten(2).transpose(1, 2) + pos_emb->weight;
  x = layers->forward(x);
  if (!norm.is_empty()) x = norm->forward(x);
  return head->forward(x.mean(1));
}

torch::Tensor ViTImpl::forward_probed(const torch::Tensor& images, Probe& probe) {
  check_input(images);
  torch::Tensor x = patch->forward(images);
  probe.record("patch", "Conv2d", x, patch.get());
  x = x.flatten(2).transpose(1, 2) + pos_emb->weight;
  probe.record("tokens", "tokens", x, nullptr);
  x = torchinit::nn::forward_probed(*layers, x, probe, "layers");
  if (!norm.is_empty()) {
    x = norm->forward(x);
    probe.record("norm", "LayerNorm", x, norm.get());
  }
  x = x.mean(1);
  probe.record("mean_pool", "mean_pool", x, nullptr);
  x = head->forward(x);
  probe.record("head", "Projection", x, head.get());
  return x;
}

}  // namespace torchinit::nn
