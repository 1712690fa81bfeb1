#include "torchinit/nn/conv_net.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include <algorithm>
#include <ostream>
#include <utility>

#include "torchinit/nn/activation_module.h"
#include "torchinit/nn/probe.h"
#include "torchinit/spec.h"

namespace torchinit::nn {

ConvNetOptions::ConvNetOptions(int64_t in_channels, std::vector<int64_t> channels, int64_t classes)
    : in_channels_(in_channels), channels_(std::move(channels)), classes_(classes) {}

ConvNetImpl::ConvNetImpl(ConvNetOptions options) : options(std::move(options)) { reset(); }

void ConvNetImpl::reset() {
  const ConvNetOptions& o = options;
  TORCH_CHECK(o.in_channels() > 0 && o.classes() > 0,
              "torchinit::nn::ConvNet: expected in_channels > 0 and classes > 0 (got ",
              o.in_channels(), " and ", o.classes(), ")");
  TORCH_CHECK(!o.channels().empty(),
              "torchinit::nn::ConvNet: expected at least one stage in channels (got []); "
              "give the output channels of each stage, e.g. {32, 64}");
  for (const int64_t c : o.channels()) {
    TORCH_CHECK(c > 0, "torchinit::nn::ConvNet: expected channels > 0 (got ",
                c10::Join(", ", o.channels()), ")");
  }
  TORCH_CHECK(o.convs() > 0, "torchinit::nn::ConvNet: expected convs per stage > 0 (got ",
              o.convs(), ")");
  TORCH_CHECK(o.kernel_size() > 0 && o.kernel_size() % 2 == 1,
              "torchinit::nn::ConvNet: expected an odd kernel_size, so that padding "
              "kernel_size/2 keeps the size (got ",
              o.kernel_size(), ")");
  TORCH_CHECK(o.dims() == 1 || o.dims() == 2, "torchinit::nn::ConvNet: expected dims 1 or 2 (got ",
              o.dims(), ")");
  const std::vector<std::string> norms{"none", "batch"};
  TORCH_CHECK(std::find(norms.begin(), norms.end(), o.norm()) != norms.end(),
              "torchinit::nn::ConvNet: norm must be none or batch (got '", o.norm(), "');",
              did_you_mean(o.norm(), norms));
  const Spec activation = Spec::parse(o.activation());
  check_activation(activation, "torchinit::nn::ConvNet: activation");

  const bool batch_norm = o.norm() == "batch";
  const int64_t k = o.kernel_size();
  features = torch::nn::Sequential();
  int64_t in = o.in_channels();
  for (size_t stage = 0; stage < o.channels().size(); ++stage) {
    if (stage > 0) {
      if (o.dims() == 1) features->push_back(torch::nn::MaxPool1d(2));
      if (o.dims() == 2) features->push_back(torch::nn::MaxPool2d(2));
    }
    const int64_t out = o.channels()[stage];
    for (int64_t i = 0; i < o.convs(); ++i) {
      if (o.dims() == 1) {
        features->push_back(torch::nn::Conv1d(
            torch::nn::Conv1dOptions(in, out, k).padding(k / 2).bias(!batch_norm)));
        if (batch_norm) features->push_back(torch::nn::BatchNorm1d(out));
      } else {
        features->push_back(torch::nn::Conv2d(
            torch::nn::Conv2dOptions(in, out, k).padding(k / 2).bias(!batch_norm)));
        if (batch_norm) features->push_back(torch::nn::BatchNorm2d(out));
      }
      features->push_back(activation_module(activation));
      in = out;
    }
  }
  register_module("features", features);
  classifier = register_module("classifier", torch::nn::Linear(in, o.classes()));
}

void ConvNetImpl::pretty_print(std::ostream& stream) const {
  stream << "torchinit::nn::ConvNet(in_channels=" << options.in_channels() << ", channels=["
         << c10::Join(", ", options.channels()) << "], classes=" << options.classes()
         << ", convs=" << options.convs() << ", kernel_size=" << options.kernel_size()
         << ", dims=" << options.dims() << ", norm=" << options.norm()
         << ", activation=" << options.activation() << ")";
}

torch::Tensor ConvNetImpl::forward(const torch::Tensor& input) {
  TORCH_CHECK(input.dim() == options.dims() + 2 && input.size(1) == options.in_channels(),
              "torchinit::nn::ConvNet: expected input [batch, ", options.in_channels(),
              options.dims() == 1 ? ", length]" : ", height, width]", " for dims=", options.dims(),
              " (got ", input.sizes(), ")");
  const torch::Tensor x = features->forward(input);
  return classifier(x.flatten(2).mean(-1));  // global average pooling
}

torch::Tensor ConvNetImpl::forward_probed(const torch::Tensor& input, Probe& probe) {
  TORCH_CHECK(input.dim() == options.dims() + 2 && input.size(1) == options.in_channels(),
              "torchinit::nn::ConvNet: expected input [batch, ", options.in_channels(),
              options.dims() == 1 ? ", length]" : ", height, width]", " for dims=", options.dims(),
              " (got ", input.sizes(), ")");
  const torch::Tensor x = torchinit::nn::forward_probed(*features, input, probe, "features");
  const torch::Tensor pooled = x.flatten(2).mean(-1);
  probe.record("global_avg_pool", "global_avg_pool", pooled, nullptr);
  const torch::Tensor out = classifier(pooled);
  probe.record("classifier", "Linear", out, classifier.get());
  return out;
}

}  // namespace torchinit::nn
