// One activation table behind activation() (names, parameters, phi, Gaussian moments),
// calculate_gain(), nn::activation_module() and propagate()'s module -> spec mapping
// (nn::activation_spec_of): the four agree on every name.
#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "torchinit/activation.h"
#include "torchinit/gain.h"
#include "torchinit/nn/activation_module.h"

namespace {

// Specs with every parameter set away from its default, and every name.
std::vector<std::string> table_specs() {
  std::vector<std::string> specs = torchinit::activation_names();
  for (const char* s : {"leaky_relu(0.2)", "elu(alpha=0.5)", "gelu(approximate=tanh)",
                        "softplus(beta=2, threshold=10)", "softplus(beta=0.5)"}) {
    specs.emplace_back(s);
  }
  return specs;
}

TEST(ActivationTable, TheNnNamesAreTheSignalNames) {
  EXPECT_EQ(torchinit::nn::activation_names(), torchinit::activation_names());
}

// activation_module and activation_spec_of are inverse: the module of a spec maps back to the
// canonical spec of activation(), and a module that is no activation maps to nothing.
TEST(ActivationTable, ModuleAndSpecOfModuleRoundTrip) {
  for (const std::string& spec : table_specs()) {
    SCOPED_TRACE(spec);
    const torch::nn::AnyModule module = torchinit::nn::activation_module(spec);
    const std::optional<std::string> back = torchinit::nn::activation_spec_of(*module.ptr());
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(torchinit::activation(*back).str(), torchinit::activation(spec).str());
  }
  EXPECT_FALSE(torchinit::nn::activation_spec_of(*torch::nn::Linear(2, 3)).has_value());
}

// calculate_gain knows every activation but identity (not a name of PyTorch's calculate_gain),
// and its numeric gains are 1/sqrt(E[phi(Z)^2]) of the same phi activation() integrates: the
// two computations (Gauss–Hermite on the gain's own phi, the moment's closed form or quadrature)
// agree to 1e-9 relative, far above both rules' ~1e-13 error and far below any real mismatch
// (gelu's tanh approximation alone moves the gain by 1e-4).
TEST(ActivationTable, GainsAreThoseOfTheTablesPhi) {
  const std::vector<std::string> gains = torchinit::gain_names();
  for (const std::string& name : torchinit::activation_names()) {
    const bool has_gain = std::find(gains.begin(), gains.end(), name) != gains.end();
    EXPECT_EQ(has_gain, name != "identity") << name;
  }
  for (const char* name : {"elu", "gelu", "silu", "swish", "mish", "softplus"}) {
    const double expected = 1 / std::sqrt(torchinit::activation(name).second_moment(1.0));
    EXPECT_NEAR(torchinit::calculate_gain(name), expected, 1e-9 * expected) << name;
  }
  const double elu = 1 / std::sqrt(torchinit::activation("elu(0.5)").second_moment(1.0));
  EXPECT_NEAR(torchinit::calculate_gain("elu", 0.5), elu, 1e-9 * elu);
  const double softplus = 1 / std::sqrt(torchinit::activation("softplus(2)").second_moment(1.0));
  EXPECT_NEAR(torchinit::calculate_gain("softplus", 2.0), softplus, 1e-9 * softplus);
}

// The order of gain_names() is part of the output (`torchinit list`, did-you-mean ties):
// PyTorch's names in its order, then the other activations in table order with their aliases.
TEST(ActivationTable, GainNamesKeepTheirOrder) {
  EXPECT_EQ(torchinit::gain_names(),
            (std::vector<std::string>{"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                      "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh",
                                      "relu", "leaky_relu", "selu", "elu", "gelu", "silu", "swish",
                                      "mish", "softplus"}));
}

}  // namespace
