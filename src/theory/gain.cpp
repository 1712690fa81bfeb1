#include "torchinit/gain.h"

#include <c10/util/Exception.h>

#include <cmath>

#include "theory/gaussian.h"
#include "torchinit/gauss_hermite.h"
#include "torchinit/spec.h"

namespace torchinit {
namespace {

const std::vector<std::string>& linear_names() {
  static const std::vector<std::string> names = {
      "linear",           "conv1d",           "conv2d",          "conv3d",
      "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"};
  return names;
}

using detail::normal_cdf;

// E[elu_alpha(Z)^2] in closed form: E[Z^2; Z>0] = 1/2 and, with E[e^{tZ}; Z<0] = e^{t^2/2} Phi(-t),
// E[alpha^2 (e^Z - 1)^2; Z<0] = alpha^2 (e^2 Phi(-2) - 2 e^{1/2} Phi(-1) + 1/2).
double elu_second_moment(double alpha) {
  return 0.5 + alpha * alpha *
                   (std::exp(2.0) * normal_cdf(-2) - 2 * std::exp(0.5) * normal_cdf(-1) + 0.5);
}

double softplus(double x, double beta) {
  const double bx = beta * x;
  return (bx > 30 ? bx : std::log1p(std::exp(bx))) / beta;
}

double from_second_moment(double m2) { return 1.0 / std::sqrt(m2); }

}  // namespace

double calculate_gain(std::string_view nonlinearity, std::optional<double> param) {
  const std::string name(nonlinearity);
  for (const auto& linear : linear_names())
    if (name == linear) return 1;
  if (name == "sigmoid") return 1;
  if (name == "tanh") return 5.0 / 3;
  if (name == "relu") return std::sqrt(2.0);
  if (name == "leaky_relu") {
    const double slope = param.value_or(0.01);
    TORCH_CHECK(std::isfinite(slope),
                "torchinit::calculate_gain: leaky_relu slope must be finite, got ", slope);
    return std::sqrt(2.0 / (1 + std::pow(slope, 2)));
  }
  if (name == "selu") return 3.0 / 4;
  if (name == "elu") {
    const double alpha = param.value_or(1.0);
    TORCH_CHECK(std::isfinite(alpha) && alpha >= 0,
                "torchinit::calculate_gain: elu alpha must be finite and >= 0, got ", alpha);
    return from_second_moment(elu_second_moment(alpha));
  }
  if (name == "gelu") {
    return from_second_moment(gaussian_expectation([](double z) {
      const double g = 0.5 * z * std::erfc(-z / std::sqrt(2.0));
      return g * g;
    }));
  }
  if (name == "silu" || name == "swish") {
    return from_second_moment(gaussian_expectation([](double z) {
      const double s = z / (1 + std::exp(-z));
      return s * s;
    }));
  }
  if (name == "mish") {
    return from_second_moment(gaussian_expectation([](double z) {
      const double m = z * std::tanh(softplus(z, 1.0));
      return m * m;
    }));
  }
  if (name == "softplus") {
    const double beta = param.value_or(1.0);
    TORCH_CHECK(std::isfinite(beta) && beta > 0,
                "torchinit::calculate_gain: softplus beta must be > 0, got ", beta);
    return from_second_moment(gaussian_expectation([beta](double z) {
      const double s = softplus(z, beta);
      return s * s;
    }));
  }
  TORCH_CHECK(false, "torchinit::calculate_gain: unknown nonlinearity '", name, "';",
              did_you_mean(name, gain_names()), " Known: linear, conv*, sigmoid, tanh, relu, ",
              "leaky_relu, selu, elu, gelu, silu, mish, softplus.");
}

std::vector<std::string> gain_names() {
  std::vector<std::string> names = linear_names();
  for (const char* n : {"sigmoid", "tanh", "relu", "leaky_relu", "selu", "elu", "gelu", "silu",
                        "swish", "mish", "softplus"})
    names.emplace_back(n);
  return names;
}

}  // namespace torchinit
