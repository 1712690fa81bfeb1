#include "torchinit/nn/resnet.h"

#include <c10/util/Exception.h>

#include <ostream>
#include <utility>

#include "torchinit/nn/basic_block.h"
#include "torchinit/nn/bottleneck.h"
#include "torchinit/nn/probe.h"
#include "torchinit/spec.h"

namespace torchinit::nn {

ResNetOptions::ResNetOptions(int64_t depth) : depth_(depth) {}

ResNetImpl::ResNetImpl(ResNetOptions options) : options(std::move(options)) { reset(); }

std::vector<int64_t> ResNetImpl::blocks_per_stage(int64_t depth) {
  switch (depth) {
    case 18:
      return {2, 2, 2, 2};
    case 34:
    case 50:
      return {3, 4, 6, 3};
    case 101:
      return {3, 4, 23, 3};
    case 152:
      return {3, 8, 36, 3};
    default:
      TORCH_CHECK(false, "torchinit::nn::ResNet: depth must be 18, 34, 50, 101 or 152 (got ", depth,
                  ")");
  }
}

bool ResNetImpl::uses_bottleneck(int64_t depth) { return depth >= 50; }

void ResNetImpl::reset() {
  const ResNetOptions& o = options;
  const std::vector<int64_t> blocks = blocks_per_stage(o.depth());
  TORCH_CHECK(o.stem() == "imagenet" || o.stem() == "cifar",
              "torchinit::nn::ResNet: stem must be imagenet or cifar (got '", o.stem(), "');",
              did_you_mean(o.stem(), {"imagenet", "cifar"}));
  TORCH_CHECK(o.classes() > 0 && o.width() > 0 && o.in_channels() > 0,
              "torchinit::nn::ResNet: expected classes, width and in_channels > 0 (got ",
              o.classes(), ", ", o.width(), ", ", o.in_channels(), ")");

  using torch::nn::Conv2dOptions;
  const bool imagenet = o.stem() == "imagenet";
  conv1 = register_module(
      "conv1", torch::nn::Conv2d(Conv2dOptions(o.in_channels(), o.width(), imagenet ? 7 : 3)
                                     .stride(imagenet ? 2 : 1)
                                     .padding(imagenet ? 3 : 1)
                                     .bias(false)));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(o.width()));
  maxpool = nullptr;
  if (imagenet) {
    maxpool = register_module(
        "maxpool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
  }

  const bool bottleneck = uses_bottleneck(o.depth());
  const int64_t expansion = bottleneck ? BottleneckImpl::expansion : BasicBlockImpl::expansion;
  int64_t in = o.width();
  torch::nn::Sequential* stages[] = {&layer1, &layer2, &layer3, &layer4};
  for (size_t s = 0; s < 4; ++s) {
    const int64_t channels = o.width() << s;
    torch::nn::Sequential stage;
    for (int64_t b = 0; b < blocks[s]; ++b) {
      const int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      if (bottleneck) {
        stage->push_back(Bottleneck(BottleneckOptions(in, channels).stride(stride)));
      } else {
        stage->push_back(BasicBlock(BasicBlockOptions(in, channels).stride(stride)));
      }
      in = channels * expansion;
    }
    *stages[s] = register_module("layer" + std::to_string(s + 1), stage);
  }
  fc = register_module("fc", torch::nn::Linear(in, o.classes()));
}

void ResNetImpl::pretty_print(std::ostream& stream) const {
  stream << "torchinit::nn::ResNet(depth=" << options.depth() << ", classes=" << options.classes()
         << ", stem=" << options.stem() << ", width=" << options.width()
         << ", in_channels=" << options.in_channels() << ")";
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& input) {
  TORCH_CHECK(input.dim() == 4 && input.size(1) == options.in_channels(),
              "torchinit::nn::ResNet: expected input [batch, ", options.in_channels(),
              ", height, width] (got ", input.sizes(), ")");
  torch::Tensor x = bn1(conv1(input)).relu();
  if (maxpool) x = maxpool(x);
  x = layer1->forward(x);
  x = layer2->forward(x);
  x = layer3->forward(x);
  x = layer4->forward(x);
  return fc(x.mean({2, 3}));  // global average pooling
}

torch::Tensor ResNetImpl::forward_probed(const torch::Tensor& input, Probe& probe) {
  TORCH_CHECK(input.dim() == 4 && input.size(1) == options.in_channels(),
              "torchinit::nn::ResNet: expected input [batch, ", options.in_channels(),
              ", height, width] (got ", input.sizes(), ")");
  torch::Tensor x = conv1(input);
  probe.record("conv1", "Conv2d", x, conv1.get());
  x = bn1(x);
  probe.record("bn1", "BatchNorm2d", x, bn1.get());
  x = x.relu();
  probe.record("relu", "relu", x, nullptr);
  if (maxpool) {
    x = maxpool(x);
    probe.record("maxpool", "MaxPool2d", x, maxpool.get());
  }
  // Each residual block is one step: its output is relu(branch + shortcut).
  x = torchinit::nn::forward_probed(*layer1, x, probe, "layer1");
  x = torchinit::nn::forward_probed(*layer2, x, probe, "layer2");
  x = torchinit::nn::forward_probed(*layer3, x, probe, "layer3");
  x = torchinit::nn::forward_probed(*layer4, x, probe, "layer4");
  x = x.mean({2, 3});
  probe.record("global_avg_pool", "global_avg_pool", x, nullptr);
  x = fc(x);
  probe.record("fc", "Linear", x, fc.get());
  return x;
}

}  // namespace torchinit::nn
