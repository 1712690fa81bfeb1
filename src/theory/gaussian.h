#pragma once
// The standard normal density and distribution function, shared by the theory sources
// (distributions, gains, activation moments), and π.
#include <cmath>

namespace torchinit::detail {

inline constexpr double kPi = 3.141592653589793238462643383279502884;
inline constexpr double kSqrt2 = 1.4142135623730950488016887242097;
inline constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;

// phi(z); 0 at ±inf.
inline double normal_pdf(double z) {
  return std::isinf(z) ? 0.0 : kInvSqrt2Pi * std::exp(-0.5 * z * z);
}
// Phi(z) through erfc, accurate in the lower tail.
inline double normal_cdf(double z) { return 0.5 * std::erfc(-z / kSqrt2); }

}  // namespace torchinit::detail
