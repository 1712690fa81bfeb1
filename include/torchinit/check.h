// Checks: does a tensor hold what its theory promises? One CheckResult per tensor, made of
// statistics chosen by the distribution's family:
//   continuous (uniform, normal, truncated normal): mean z-test with the theoretical sigma,
//     variance z-test with Var(s^2) = (mu4 - sigma^4 (n-3)/(n-1))/n, Kolmogorov–Smirnov and
//     Anderson–Darling on a deterministic subsample of at most shape_sample elements;
//   orthogonal: max |W W^T / gain^2 - I| (W^T W when rows > cols) within 2 eps(dtype) +
//     4 max(rows, cols) eps(work type), the signs of diag(W) Binomial(k, 1/2) (Haar: a biased
//     QR sign convention shows here), and KS on the Beta marginal;
//   sparse: exactly zeros_per_column zeros in every column, the nonzeros tested as a normal;
//   constant, eye, dirac: every element exactly as promised.
// The statistics share the check's alpha by Bonferroni, so one check's false-alarm rate is at
// most alpha. A check that cannot detect a 10% variance error with power 0.99 at its n says so
// (inconclusive) instead of passing.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <string>
#include <string_view>
#include <vector>

#include "torchinit/distribution.h"
#include "torchinit/stats.h"

namespace torch::nn {
class Module;
}

namespace torchinit {

struct CheckOptions {
  // False-alarm probability of one check (all its statistics together).
  TORCH_ARG(double, alpha) = 1e-6;
  // At most this many elements (evenly strided) enter the shape tests (KS, Anderson–Darling).
  TORCH_ARG(int64_t, shape_sample) = int64_t(1) << 17;
  // Power requirement: below the n that detects this relative variance error with this power,
  // the result is inconclusive.
  TORCH_ARG(double, detectable_variance_error) = 0.10;
  TORCH_ARG(double, power) = 0.99;
};

// c10::Error "<who>: <option> must be in <range>, got <value>; …" unless alpha is in (0, 1),
// shape_sample in [1, 2^31], detectable_variance_error a finite number > 0 and power in
// [0.5, 1). Every entry point that takes CheckOptions calls it before reading a tensor.
void validate_check_options(const CheckOptions& options, std::string_view who = "torchinit::check");

// One statistic of a check.
struct Statistic {
  std::string name;       // "mean", "variance", "ks", "anderson_darling", "orthogonality", …
  double value = 0;       // the observed quantity (sample mean, sample variance, D, A^2, error)
  double lo = 0, hi = 0;  // acceptance region of `value` (lo == hi == value for exact checks)
  double p_value = 1;     // NaN for deterministic checks
  double alpha = 0;       // this statistic's share of the check's alpha
  bool passed = true;
  std::string detail;  // "variance 0.0213 outside [0.0191, 0.0209] (n=32768, alpha=1e-6)"
};

class CheckResult {
 public:
  CheckResult(Distribution theory, int64_t n, double alpha)
      : theory_(std::move(theory)), n_(n), alpha_(alpha) {}

  // Every statistic accepted and the check had the power it promises.
  bool passed() const { return !rejected() && !underpowered_; }
  // Nothing rejected, but n is too small to tell (see CheckOptions::detectable_variance_error).
  bool inconclusive() const { return !rejected() && underpowered_; }
  bool rejected() const;
  const std::vector<Statistic>& statistics() const { return statistics_; }
  const Statistic* find(std::string_view name) const;
  const Distribution& theory() const { return theory_; }
  int64_t n() const { return n_; }
  double alpha() const { return alpha_; }
  // One line with the verdict and every statistic's numbers.
  std::string summary() const;
  std::string json() const;

  void add(Statistic s) { statistics_.push_back(std::move(s)); }
  void set_underpowered(std::string why) {
    underpowered_ = true;
    underpowered_why_ = std::move(why);
  }

 private:
  Distribution theory_;
  int64_t n_;
  double alpha_;
  std::vector<Statistic> statistics_;
  bool underpowered_ = false;
  std::string underpowered_why_;
};

// Checks a tensor (any floating dtype, strides or device) against a distribution.
CheckResult check(const at::Tensor& tensor, const Distribution& theory,
                  const CheckOptions& options = {});
// Checks against the theory of `spec` for the tensor's shape.
CheckResult check(const at::Tensor& tensor, std::string_view spec,
                  const CheckOptions& options = {});

// Every parameter of a module checked against its theory, at a family-wise alpha: each of the
// k parameters is checked at alpha/k (Bonferroni), so the chance that any correct parameter is
// flagged is at most alpha.
class ModuleCheck {
 public:
  // No parameter rejected. Parameters too small for the promised power are accepted but counted
  // (and marked in table()) as inconclusive: a network has many small biases.
  bool passed() const;
  int64_t inconclusive() const;
  const std::vector<CheckResult>& results() const { return results_; }
  const std::vector<std::string>& paths() const { return paths_; }
  // One row per parameter: path, shape, theory, verdict and the failing statistic if any.
  std::string table() const;
  std::string json() const;

  void add(std::string path, CheckResult result) {
    paths_.push_back(std::move(path));
    results_.push_back(std::move(result));
  }

 private:
  std::vector<std::string> paths_;
  std::vector<CheckResult> results_;
};

// Checks every parameter of `module` (recursively, by named_parameters()) against the theory of
// one spec; the Report overload of the plans layer supersedes this for mixed plans.
ModuleCheck check(const torch::nn::Module& module, std::string_view spec,
                  const CheckOptions& options = {});

// One-pass moments of every element, in double, merged with Chan et al.'s formulas over
// fixed-size chunks in parallel: the result does not depend on the thread count.
stats::Moments tensor_moments(const at::Tensor& tensor);

}  // namespace torchinit
