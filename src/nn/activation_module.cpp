#include "torchinit/nn/activation_module.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <utility>

#include "spec/spec_args.h"

namespace torchinit::nn {
namespace {

// One argument of an activation: a number (finite, > min when `positive`) or one identifier
// of `choices`.
using Param = torchinit::detail::SpecParam;
using torchinit::detail::where;

struct Activation {
  std::string name;
  std::vector<std::string> aliases;
  std::vector<Param> params;
  std::function<torch::nn::AnyModule(const std::vector<SpecValue>&)> build;
};

Param number(std::string name, double default_value, bool positive = false) {
  return Param{std::move(name), SpecValue::of_number(default_value), {}, positive};
}

Param choice(std::string name, std::string default_value, std::vector<std::string> choices) {
  return Param{std::move(name), SpecValue::of_identifier(std::move(default_value)),
               std::move(choices), false};
}

template <typename M>
Activation plain(std::string name, std::vector<std::string> aliases = {}) {
  return Activation{std::move(name), std::move(aliases), {}, [](const std::vector<SpecValue>&) {
                      return torch::nn::AnyModule(M());
                    }};
}

// The table, built on first use (no static-initialization order issues).
const std::vector<Activation>& activations() {
  static const std::vector<Activation>* table = [] {
    using V = std::vector<SpecValue>;
    auto* t = new std::vector<Activation>{
        plain<torch::nn::Identity>("identity", {"linear"}),
        plain<torch::nn::ReLU>("relu"),
        Activation{"leaky_relu",
                   {},
                   {number("negative_slope", 0.01)},
                   [](const V& v) {
                     return torch::nn::AnyModule(torch::nn::LeakyReLU(
                         torch::nn::LeakyReLUOptions().negative_slope(v[0].number)));
                   }},
        plain<torch::nn::Tanh>("tanh"),
        plain<torch::nn::Sigmoid>("sigmoid"),
        plain<torch::nn::SELU>("selu"),
        Activation{"elu",
                   {},
                   {number("alpha", 1.0)},
                   [](const V& v) {
                     return torch::nn::AnyModule(
                         torch::nn::ELU(torch::nn::ELUOptions().alpha(v[0].number)));
                   }},
        Activation{"gelu",
                   {},
                   {choice("approximate", "none", {"none", "tanh"})},
                   [](const V& v) {
                     return torch::nn::AnyModule(
                         torch::nn::GELU(torch::nn::GELUOptions().approximate(v[0].text)));
                   }},
        plain<torch::nn::SiLU>("silu", {"swish"}),
        plain<torch::nn::Mish>("mish"),
        Activation{"softplus",
                   {},
                   {number("beta", 1.0, true), number("threshold", 20.0)},
                   [](const V& v) {
                     return torch::nn::AnyModule(torch::nn::Softplus(
                         torch::nn::SoftplusOptions().beta(v[0].number).threshold(v[1].number)));
                   }},
    };
    return t;
  }();
  return *table;
}

const Activation* find(std::string_view name) {
  for (const Activation& a : activations()) {
    if (a.name == name || std::find(a.aliases.begin(), a.aliases.end(), name) != a.aliases.end()) {
      return &a;
    }
  }
  return nullptr;
}

// The activation of `spec` and its argument values in declared order (defaults filled in).
std::pair<const Activation*, std::vector<SpecValue>> bind(const Spec& spec, std::string_view who) {
  const Activation* a = find(spec.name());
  TORCH_CHECK(a, who, ": unknown activation '", spec.name(), "';",
              did_you_mean(spec.name(), activation_names()), " expected one of ",
              c10::Join(", ", activation_names()), where(spec, spec.column()));
  const std::vector<std::optional<SpecValue>> given =
      torchinit::detail::bind_args(spec, who, a->name, a->params);
  std::vector<SpecValue> values;
  for (size_t i = 0; i < a->params.size(); ++i) {
    values.push_back(given[i] ? *given[i] : a->params[i].default_value);
  }
  return {a, std::move(values)};
}

}  // namespace

torch::nn::AnyModule activation_module(std::string_view spec) {
  return activation_module(Spec::parse(spec));
}

torch::nn::AnyModule activation_module(const Spec& spec) {
  auto [activation, values] = bind(spec, "torchinit::nn::activation_module");
  return activation->build(values);
}

void check_activation(const Spec& spec, std::string_view who) { (void)bind(spec, who); }

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const Activation& a : activations()) names.push_back(a.name);
  for (const Activation& a : activations()) {
    names.insert(names.end(), a.aliases.begin(), a.aliases.end());
  }
  return names;
}

}  // namespace torchinit::nn
