// torchinit::nn::make: a model from a one-line spec.
//
//   torch::nn::AnyModule net = torchinit::nn::make("resnet(depth=18, classes=10, stem=cifar)");
//   torch::Tensor logits = net.forward(torch::randn({2, 3, 32, 32}));  // [2, 10]
//   torch::nn::Module& module = *net.ptr();                            // to apply a Plan
//
// Models (see nn/registry.h; `torchinit list --models` prints them with every argument):
//   mlp(in=784, hidden=[256, 256], out=10, act=relu, norm=none, dropout=0, bias=true)
//   convnet(in=3, channels=[32, 64], convs=2, kernel=3, classes=10, dims=2, norm=batch, act=relu)
//   rnn(in=32, hidden=64, layers=2, out=10, nonlinearity=tanh, bidirectional=false, dropout=0)
//   lstm(...), gru(...): as rnn without nonlinearity
//   resnet(depth=18, classes=1000, stem=imagenet, width=64, in_channels=3)
#pragma once

#include <torch/nn/modules/container/any.h>

#include <string_view>

#include "torchinit/spec.h"

namespace torchinit::nn {

// Builds the model a spec names, from ModelRegistry::global(). Errors (c10::Error) start with
// "torchinit::nn::make: ", name the bad argument, say what was expected and what was given,
// and show the column with a caret; unknown names get a did-you-mean.
torch::nn::AnyModule make(std::string_view model_spec);
torch::nn::AnyModule make(const Spec& model_spec);

}  // namespace torchinit::nn
