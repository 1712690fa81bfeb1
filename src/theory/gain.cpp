#include "torchinit/gain.h"

#include <c10/util/Exception.h>

#include <algorithm>

#include "signal/activation_table.h"
#include "torchinit/spec.h"

namespace torchinit {
namespace {

// torch.nn.init.calculate_gain's layer names (gain 1) and its nonlinearities, in its order. The
// gains themselves come from the activation table (activation_table.h).
const std::vector<std::string>& torch_gain_names() {
  static const std::vector<std::string> names = {
      "linear",           "conv1d",  "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
      "conv_transpose3d", "sigmoid", "tanh",   "relu",   "leaky_relu",       "selu"};
  return names;
}

constexpr size_t kTorchLayerNames = 7;  // linear, conv*, conv_transpose*: gain 1

}  // namespace

double calculate_gain(std::string_view nonlinearity, std::optional<double> param) {
  const std::string name(nonlinearity);
  const auto& torch_names = torch_gain_names();
  for (size_t i = 0; i < kTorchLayerNames; ++i)
    if (name == torch_names[i]) return 1;
  const detail::ActivationInfo* a = detail::find_activation(name);
  if (a != nullptr && a->gain) return a->gain(param);
  TORCH_CHECK(false, "torchinit::calculate_gain: unknown nonlinearity '", name, "';",
              did_you_mean(name, gain_names()), " Known: linear, conv*, sigmoid, tanh, relu, ",
              "leaky_relu, selu, elu, gelu, silu, mish, softplus.");
}

std::vector<std::string> gain_names() {
  std::vector<std::string> names = torch_gain_names();
  const auto listed = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  // Then every other activation with a gain, each followed by its aliases.
  for (const detail::ActivationInfo& a : detail::activation_table()) {
    if (!a.gain) continue;
    if (!listed(a.name)) names.push_back(a.name);
    for (const std::string& alias : a.aliases)
      if (!listed(alias)) names.push_back(alias);
  }
  return names;
}

}  // namespace torchinit
