#include "torchinit/gauss_hermite.h"

#include <c10/util/Exception.h>

#include <cmath>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "theory/gaussian.h"

namespace torchinit {
namespace {

struct QuadratureRule {
  std::vector<double> x, w;  // nodes and weights for the weight exp(-x^2)
};

// Newton iteration on the orthonormal Hermite recurrence (Numerical Recipes `gauher`): stable
// for hundreds of nodes, no eigen solver needed.
QuadratureRule make_rule(int n) {
  constexpr double kPiM4 = 0.7511255444649425;  // pi^(-1/4)
  QuadratureRule r;
  r.x.assign(n, 0.0);
  r.w.assign(n, 0.0);
  const int m = (n + 1) / 2;
  double z = 0;
  for (int i = 0; i < m; ++i) {
    // Initial guesses for the largest roots, then from the previous roots.
    if (i == 0) {
      z = std::sqrt(double(2 * n + 1)) - 1.85575 * std::pow(double(2 * n + 1), -0.16667);
    } else if (i == 1) {
      z -= 1.14 * std::pow(double(n), 0.426) / z;
    } else if (i == 2) {
      z = 1.86 * z - 0.86 * r.x[0];
    } else if (i == 3) {
      z = 1.91 * z - 0.91 * r.x[1];
    } else {
      z = 2.0 * z - r.x[i - 2];
    }
    double pp = 0;
    for (int iter = 0; iter < 100; ++iter) {
      double p1 = kPiM4, p2 = 0.0;
      for (int j = 0; j < n; ++j) {
        const double p3 = p2;
        p2 = p1;
        p1 = z * std::sqrt(2.0 / (j + 1)) * p2 - std::sqrt(double(j) / (j + 1)) * p3;
      }
      pp = std::sqrt(2.0 * n) * p2;
      const double z1 = z;
      z = z1 - p1 / pp;
      if (std::abs(z - z1) <= 1e-15 * std::max(1.0, std::abs(z))) break;
    }
    r.x[i] = z;
    r.x[n - 1 - i] = -z;
    r.w[i] = r.w[n - 1 - i] = 2.0 / (pp * pp);
  }
  return r;
}

const QuadratureRule& rule(int n) {
  static std::mutex mutex;
  static std::map<int, QuadratureRule> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, make_rule(n)).first;
  return it->second;  // std::map nodes are stable: the reference outlives the lock
}

}  // namespace

double gaussian_expectation(const std::function<double(double)>& f, int nodes) {
  TORCH_CHECK(nodes >= 1 && nodes <= 180,
              "torchinit::gaussian_expectation: nodes must be in [1, 180], got ", nodes);
  const QuadratureRule& r = rule(nodes);
  // E[f(Z)] = pi^(-1/2) sum w_i f(sqrt(2) x_i)
  constexpr double kInvSqrtPi = 0.56418958354775628695;
  double sum = 0;
  for (int i = 0; i < nodes; ++i) sum += r.w[i] * f(detail::kSqrt2 * r.x[i]);
  return kInvSqrtPi * sum;
}

}  // namespace torchinit
