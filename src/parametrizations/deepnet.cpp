// Parametrization::deepnet: the deepnet preset's init and DeepNorm's residual multiplier α in
// every post-LN TransformerBlock (parametrization.h).
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/nn/module.h>

#include <cmath>
#include <vector>

#include "parametrizations/module_path.h"
#include "torchinit/nn/transformer_block.h"
#include "torchinit/parametrization.h"

namespace torchinit {

Parametrization Parametrization::deepnet(int64_t layers) {
  TORCH_CHECK(layers > 0, "torchinit::Parametrization::deepnet: layers must be > 0 (got ", layers,
              "): the number of Transformer blocks, which sets α = (2N)^(1/4)");
  Parametrization p(Base{}, Plan::preset("deepnet", layers), MupOptions{});
  p.deepnet_layers_ = layers;
  return p;
}

Report Parametrization::resolve_deepnet(const torch::nn::Module& model, const ApplyOptions& options,
                                        torch::nn::Module* writable) const {
  constexpr const char* who = "torchinit::Parametrization::deepnet";
  std::vector<std::pair<std::string, nn::TransformerBlockImpl*>> blocks;
  for (const auto& item : model.named_modules())
    if (auto* b = dynamic_cast<nn::TransformerBlockImpl*>(item.value().get())) {
      TORCH_CHECK(b->options.norm() == "post", who, ": ", item.key(), " is a ", b->options.norm(),
                  "-LN block; DeepNorm is post-LN: build the model with norm=post "
                  "(gpt(..., norm=post, qkv=split))");
      blocks.emplace_back(item.key(), b);
    }
  TORCH_CHECK(int64_t(blocks.size()) == deepnet_layers_, who, ": the model has ", blocks.size(),
              " TransformerBlocks and deepnet was told ", deepnet_layers_,
              "; give Parametrization::deepnet the model's number of blocks");
  // Every rule is validated, and nothing written, before the first write.
  Report report =
      writable ? base_plan_.apply(*writable, options) : base_plan_.explain(model, options);
  report.set_parametrization(name());
  const double alpha = std::pow(2.0 * double(deepnet_layers_), 0.25);
  at::NoGradGuard no_grad;
  for (auto& [path, block] : blocks) {
    if (writable) block->residual_multiplier.fill_(alpha);
    report.add_buffer(detail::path_in(path, "residual_multiplier"), alpha);
  }
  return report;
}

}  // namespace torchinit
