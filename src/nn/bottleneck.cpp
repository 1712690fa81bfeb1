#include "torchinit/nn/bottleneck.h"

#include <c10/util/Exception.h>

#include <ostream>

namespace torchinit::nn {

BottleneckOptions::BottleneckOptions(int64_t in_channels, int64_t channels)
    : in_channels_(in_channels), channels_(channels) {}

BottleneckImpl::BottleneckImpl(BottleneckOptions options) : options(options) { reset(); }

void BottleneckImpl::reset() {
  const BottleneckOptions& o = options;
  TORCH_CHECK(o.in_channels() > 0 && o.channels() > 0 && o.stride() > 0,
              "torchinit::nn::Bottleneck: expected in_channels, channels and stride > 0 (got ",
              o.in_channels(), ", ", o.channels(), ", ", o.stride(), ")");
  using torch::nn::Conv2dOptions;
  const int64_t c = o.channels();
  const int64_t out = c * expansion;
  conv1 =
      register_module("conv1", torch::nn::Conv2d(Conv2dOptions(o.in_channels(), c, 1).bias(false)));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(c));
  conv2 = register_module(
      "conv2", torch::nn::Conv2d(Conv2dOptions(c, c, 3).stride(o.stride()).padding(1).bias(false)));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(c));
  conv3 = register_module("conv3", torch::nn::Conv2d(Conv2dOptions(c, out, 1).bias(false)));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(out));
  downsample = nullptr;
  if (o.stride() != 1 || o.in_channels() != out) {
    downsample = register_module(
        "downsample",
        torch::nn::Sequential(
            torch::nn::Conv2d(
                Conv2dOptions(o.in_channels(), out, 1).stride(o.stride()).bias(false)),
            torch::nn::BatchNorm2d(out)));
  }
}

void BottleneckImpl::pretty_print(std::ostream& stream) const {
  stream << "torchinit::nn::Bottleneck(in_channels=" << options.in_channels()
         << ", channels=" << options.channels() << ", stride=" << options.stride() << ")";
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = bn1(conv1(input)).relu();
  x = bn2(conv2(x)).relu();
  x = bn3(conv3(x));
  x = x + (downsample ? downsample->forward(input) : input);
  return x.relu();
}

}  // namespace torchinit::nn
