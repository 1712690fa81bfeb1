// Gains: the factor that keeps the variance of a layer's output at that of its input under a
// nonlinearity. `calculate_gain` matches torch.nn.init.calculate_gain bit for bit for every name
// PyTorch knows; for gelu, silu, elu, mish and softplus it gives 1/sqrt(E[phi(Z)^2]), Z ~ N(0,1)
// (the gain that keeps E[x^2] fixed through a fan_in-scaled layer), by Gauss–Hermite quadrature
// or a closed form.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace torchinit {

// PyTorch's names: linear, conv1d, conv2d, conv3d, conv_transpose1d/2d/3d, sigmoid (1), tanh (5/3),
// relu (sqrt 2), leaky_relu (sqrt(2/(1+slope^2)), slope defaults to 0.01), selu (3/4).
// Numeric: gelu, silu (alias swish), elu (param alpha, default 1), mish, softplus (param beta,
// default 1). Unknown names: c10::Error with a did-you-mean.
double calculate_gain(std::string_view nonlinearity, std::optional<double> param = std::nullopt);

// Every name calculate_gain accepts.
std::vector<std::string> gain_names();

}  // namespace torchinit
