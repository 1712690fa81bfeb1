#include "torchinit/nn/mlp.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <algorithm>
#include <ostream>
#include <utility>

#include "torchinit/nn/activation_module.h"
#include "torchinit/nn/probe.h"
#include "torchinit/spec.h"

namespace torchinit::nn {

MLPOptions::MLPOptions(int64_t in_features, std::vector<int64_t> hidden, int64_t out_features)
    : in_features_(in_features), hidden_(std::move(hidden)), out_features_(out_features) {}

MLPImpl::MLPImpl(MLPOptions options) : options(std::move(options)) { reset(); }

void MLPImpl::reset() {
  const MLPOptions& o = options;
  TORCH_CHECK(o.in_features() > 0 && o.out_features() > 0,
              "torchinit::nn::MLP: expected in_features > 0 and out_features > 0 (got ",
              o.in_features(), " and ", o.out_features(), ")");
  for (const int64_t width : o.hidden()) {
    TORCH_CHECK(width > 0, "torchinit::nn::MLP: expected hidden widths > 0 (got ",
                c10::Join(", ", o.hidden()), ")");
  }
  const std::vector<std::string> norms{"none", "batch", "layer"};
  TORCH_CHECK(std::find(norms.begin(), norms.end(), o.norm()) != norms.end(),
              "torchinit::nn::MLP: norm must be none, batch or layer (got '", o.norm(), "');",
              did_you_mean(o.norm(), norms));
  TORCH_CHECK(o.dropout() >= 0 && o.dropout() <= 1,
              "torchinit::nn::MLP: dropout must be a probability in [0, 1] (got ", o.dropout(),
              ")");
  TORCH_CHECK(!o.hidden().empty() || (o.norm() == "none" && o.dropout() == 0),
              "torchinit::nn::MLP: norm and dropout apply after hidden layers, and hidden is "
              "empty; add hidden widths or drop norm/dropout");
  const Spec activation = Spec::parse(o.activation());
  check_activation(activation, "torchinit::nn::MLP: activation");

  layers = torch::nn::Sequential();
  int64_t width = o.in_features();
  for (const int64_t next : o.hidden()) {
    layers->push_back(torch::nn::Linear(torch::nn::LinearOptions(width, next).bias(o.bias())));
    if (o.norm() == "batch") layers->push_back(torch::nn::BatchNorm1d(next));
    if (o.norm() == "layer") {
      layers->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({next})));
    }
    layers->push_back(activation_module(activation));
    if (o.dropout() > 0) layers->push_back(torch::nn::Dropout(o.dropout()));
    width = next;
  }
  layers->push_back(
      torch::nn::Linear(torch::nn::LinearOptions(width, o.out_features()).bias(o.bias())));
  register_module("layers", layers);
}

void MLPImpl::pretty_print(std::ostream& stream) const {
  stream << "torchinit::nn::MLP(in_features=" << options.in_features() << ", hidden=["
         << c10::Join(", ", options.hidden()) << "], out_features=" << options.out_features()
         << ", activation=" << options.activation() << ", norm=" << options.norm()
         << ", dropout=" << options.dropout() << ", bias=" << (options.bias() ? "true" : "false")
         << ")";
}

namespace {

void check_input(const MLPOptions& options, const torch::Tensor& input) {
  const bool batch_norm = options.norm() == "batch";
  TORCH_CHECK(input.dim() >= 1 && input.size(-1) == options.in_features() &&
                  (!batch_norm || input.dim() == 2),
              "torchinit::nn::MLP: expected input ", batch_norm ? "[batch, " : "[..., ",
              options.in_features(), "] (got ", input.sizes(), ")",
              batch_norm ? "; norm=batch needs 2-D input" : "");
}

}  // namespace

torch::Tensor MLPImpl::forward(const torch::Tensor& input) {
  check_input(options, input);
  return layers->forward(input);
}

torch::Tensor MLPImpl::forward_probed(const torch::Tensor& input, Probe& probe) {
  check_input(options, input);
  return torchinit::nn::forward_probed(*layers, input, probe, "layers");
}

}  // namespace torchinit::nn
