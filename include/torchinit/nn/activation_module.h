// Activation specs → LibTorch modules, for the architectures of torchinit::nn.
//
//   torch::nn::AnyModule act = torchinit::nn::activation_module("leaky_relu(0.2)");
//
// Names (arguments in order, with defaults):
//   identity (alias linear), relu, leaky_relu(negative_slope=0.01), tanh, sigmoid, selu,
//   elu(alpha=1), gelu(approximate=none|tanh), silu (alias swish), mish,
//   softplus(beta=1, threshold=20).
// The names and arguments come from the one activation table of the signal layer, which also
// gives torchinit::activation() and torchinit::calculate_gain(). These are the nonlinearities
// torchinit::calculate_gain knows, so a model's activation spec
// can be reused as the gain of its initializers.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torchinit/spec.h"

namespace torchinit::nn {

// The module for an activation spec: `relu`, `leaky_relu(0.2)`, `elu(alpha=0.5)`,
// `gelu(approximate=tanh)`. Unknown names (with a did-you-mean), unknown or duplicate
// arguments, wrong types and out-of-range values throw c10::Error.
torch::nn::AnyModule activation_module(std::string_view spec);
torch::nn::AnyModule activation_module(const Spec& spec);

// Validates an activation spec without building its module. Errors start with `who`
// ("torchinit::nn::activation_module" by default) and, when `spec` was parsed from text,
// give the column and a caret under it.
void check_activation(const Spec& spec, std::string_view who = "torchinit::nn::activation_module");

// Every name activation_module accepts (canonical names first, then aliases): the same list as
// torchinit::activation_names() (activation.h), which is the canonical one.
std::vector<std::string> activation_names();

// The inverse of activation_module: the canonical activation spec of a LibTorch activation module
// (by its C++ type and options: `relu`, `leaky_relu(0.20000000000000001)`), nullopt for any other
// module. Numbers are printed with 17 significant digits so that they round-trip.
std::optional<std::string> activation_spec_of(const torch::nn::Module& module);

}  // namespace torchinit::nn
