#include "torchinit/nn/activation_module.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <utility>

#include "signal/activation_table.h"
#include "torchinit/activation.h"

namespace torchinit::nn {
namespace {

// The LibTorch module of an activation of the table (activation_table.h), from its canonical
// name and its parameters' values in declared order.
torch::nn::AnyModule module_of(const std::string& name, const std::vector<SpecValue>& v) {
  using torch::nn::AnyModule;
  if (name == "identity") return AnyModule(torch::nn::Identity());
  if (name == "relu") return AnyModule(torch::nn::ReLU());
  if (name == "leaky_relu") {
    return AnyModule(
        torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(v.at(0).number)));
  }
  if (name == "tanh") return AnyModule(torch::nn::Tanh());
  if (name == "sigmoid") return AnyModule(torch::nn::Sigmoid());
  if (name == "selu") return AnyModule(torch::nn::SELU());
  if (name == "elu")
    return AnyModule(torch::nn::ELU(torch::nn::ELUOptions().alpha(v.at(0).number)));
  if (name == "gelu") {
    return AnyModule(torch::nn::GELU(torch::nn::GELUOptions().approximate(v.at(0).text)));
  }
  if (name == "silu") return AnyModule(torch::nn::SiLU());
  if (name == "mish") return AnyModule(torch::nn::Mish());
  if (name == "softplus") {
    return AnyModule(torch::nn::Softplus(
        torch::nn::SoftplusOptions().beta(v.at(0).number).threshold(v.at(1).number)));
  }
  TORCH_CHECK(false, "torchinit::nn::activation_module: the activation '", name,
              "' has no LibTorch module (internal error: add it to module_of)");
}

}  // namespace

torch::nn::AnyModule activation_module(std::string_view spec) {
  return activation_module(Spec::parse(spec));
}

torch::nn::AnyModule activation_module(const Spec& spec) {
  const auto [activation, values] =
      torchinit::detail::bind_activation(spec, "torchinit::nn::activation_module");
  return module_of(activation->name, values);
}

void check_activation(const Spec& spec, std::string_view who) {
  (void)torchinit::detail::bind_activation(spec, who);
}

// A thin wrapper: torchinit::activation_names() (activation.h) is the canonical list.
std::vector<std::string> activation_names() { return torchinit::activation_names(); }

std::optional<std::string> activation_spec_of(const torch::nn::Module& m) {
  // The inverse of module_of: parameters printed with 17 digits so that they round-trip.
  if (dynamic_cast<const torch::nn::IdentityImpl*>(&m)) return "identity";
  if (dynamic_cast<const torch::nn::ReLUImpl*>(&m)) return "relu";
  if (const auto* a = dynamic_cast<const torch::nn::LeakyReLUImpl*>(&m)) {
    return fmt::format("leaky_relu({:.17g})", a->options.negative_slope());
  }
  if (dynamic_cast<const torch::nn::TanhImpl*>(&m)) return "tanh";
  if (dynamic_cast<const torch::nn::SigmoidImpl*>(&m)) return "sigmoid";
  if (dynamic_cast<const torch::nn::SELUImpl*>(&m)) return "selu";
  if (const auto* a = dynamic_cast<const torch::nn::ELUImpl*>(&m)) {
    return fmt::format("elu({:.17g})", a->options.alpha());
  }
  if (const auto* a = dynamic_cast<const torch::nn::GELUImpl*>(&m)) {
    return "gelu(approximate=" + a->options.approximate() + ")";
  }
  if (dynamic_cast<const torch::nn::SiLUImpl*>(&m)) return "silu";
  if (dynamic_cast<const torch::nn::MishImpl*>(&m)) return "mish";
  if (const auto* a = dynamic_cast<const torch::nn::SoftplusImpl*>(&m)) {
    return fmt::format("softplus(beta={:.17g}, threshold={:.17g})", a->options.beta(),
                       a->options.threshold());
  }
  return std::nullopt;
}

}  // namespace torchinit::nn
