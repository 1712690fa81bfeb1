// The one table of activations (signal layer): each name with its aliases, parameters, phi and
// Gaussian moments (the build of an ActivationModel) and gain. activation() (activation.cpp),
// calculate_gain() (gain.cpp), nn::activation_module() and propagate() (the module -> spec
// mapping in nn/activation_module.cpp) all derive from it. No torch headers: pure math.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spec/spec_args.h"
#include "torchinit/spec.h"

namespace torchinit::detail {

struct ActivationModel;

struct ActivationInfo {
  std::string name;  // canonical
  std::vector<std::string> aliases;
  std::vector<SpecParam> params;  // in declared (positional) order, with defaults
  // Sets phi, phi' and the closed-form moments of `model` from the parameters' values.
  std::function<void(ActivationModel& model, const std::vector<SpecValue>& values)> build;
  // calculate_gain(name, param); empty where calculate_gain does not know the name (identity).
  std::function<double(std::optional<double> param)> gain;
};

// Every activation, in the order activation_names() lists them.
const std::vector<ActivationInfo>& activation_table();
// The entry of a canonical name or alias; nullptr when unknown.
const ActivationInfo* find_activation(std::string_view name);
// The entry of `spec` and its parameters' values (defaults filled in). c10::Error starting with
// `who` for unknown names (with a did-you-mean) and everything detail::bind rejects.
std::pair<const ActivationInfo*, std::vector<SpecValue>> bind_activation(const Spec& spec,
                                                                         std::string_view who);

}  // namespace torchinit::detail
