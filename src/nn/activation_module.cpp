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

namespace torchinit::nn {
namespace {

// One argument of an activation: a number (finite, > min when `positive`) or one identifier
// of `choices`.
struct Param {
  std::string name;
  SpecValue default_value;
  std::vector<std::string> choices;  // empty: a number
  bool positive = false;
};

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

std::string where(const Spec& spec, int column) {
  if (spec.source().empty() || column <= 0) return "";
  return " at column " + std::to_string(column) + "\n" + caret(spec.source(), column);
}

std::string signature(const Activation& a) {
  if (a.params.empty()) return a.name;
  std::string s = a.name + "(";
  for (size_t i = 0; i < a.params.size(); ++i) {
    s += (i ? ", " : "") + a.params[i].name + "=";
    const Param& p = a.params[i];
    s += p.choices.empty() ? p.default_value.str() : c10::Join("|", p.choices);
  }
  return s + ")";
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
  std::vector<std::optional<SpecValue>> given(a->params.size());
  size_t position = 0;
  for (const SpecArg& arg : spec.args()) {
    size_t index = 0;
    if (arg.key.empty()) {
      TORCH_CHECK(
          position < a->params.size(), who, ": ", a->name, " takes ",
          a->params.size() == 0
              ? std::string("no arguments")
              : "at most " + std::to_string(a->params.size()) + " argument(s): " + signature(*a),
          ", got ", spec.args().size(), "; remove the extra argument", where(spec, arg.column));
      index = position++;
    } else {
      std::vector<std::string> names;
      for (const Param& p : a->params) names.push_back(p.name);
      const auto it = std::find(names.begin(), names.end(), arg.key);
      TORCH_CHECK(it != names.end(), who, ": ", a->name, " has no argument '", arg.key, "';",
                  did_you_mean(arg.key, names), " it takes ", signature(*a),
                  where(spec, arg.column));
      index = static_cast<size_t>(it - names.begin());
      TORCH_CHECK(!given[index], who, ": ", a->name, " argument '", arg.key,
                  "' is given twice; keep one", where(spec, arg.column));
    }
    const Param& p = a->params[index];
    const SpecValue& v = arg.value;
    if (p.choices.empty()) {
      TORCH_CHECK(v.kind == SpecValue::Kind::Number, who, ": ", a->name, " argument '", p.name,
                  "' expects a number, got ", SpecValue::kind_name(v.kind), " ", v.str(),
                  where(spec, v.column));
      TORCH_CHECK(std::isfinite(v.number) && (!p.positive || v.number > 0), who, ": ", a->name,
                  " argument '", p.name, "' expects a finite number", p.positive ? " > 0" : "",
                  ", got ", v.str(), where(spec, v.column));
    } else {
      const bool word = v.kind == SpecValue::Kind::Identifier || v.kind == SpecValue::Kind::String;
      const std::string got = word ? v.text : v.str();
      TORCH_CHECK(word && std::find(p.choices.begin(), p.choices.end(), got) != p.choices.end(),
                  who, ": ", a->name, " argument '", p.name, "' expects one of ",
                  c10::Join(", ", p.choices), ", got '", got, "';", did_you_mean(got, p.choices),
                  where(spec, v.column));
    }
    given[index] = v;
  }
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
