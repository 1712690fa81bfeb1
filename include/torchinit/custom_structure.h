// A structure of one's own: what a new structured initializer promises beyond one element's
// distribution, written in the initializer's file together with its check. The theory carries it
// (Distribution::with_structure), check() calls its check(), and dist::check_sharded asks it
// whether merged shard statistics suffice. torchinit's older families use the closed
// alternatives of torchinit/structure.h; a new family, built in or a user's, derives from
// structure::Custom (docs/adding-an-initializer.md has a worked example).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>

#include "torchinit/check.h"
#include "torchinit/distribution.h"
#include "torchinit/stats.h"
#include "torchinit/structure.h"

namespace torchinit {

// What check() hands a structure's check; the check adds its statistics to `result`.
struct StructureCheck {
  CheckResult& result;
  const at::Tensor& values;       // the checked tensor, contiguous CPU float32 or float64
  const stats::Moments& moments;  // of `values`, all finite
  at::ScalarType dtype;           // the checked tensor's own dtype
  const Distribution& theory;     // the theory whose typed_structure() is being checked
  const CheckOptions& options;
};

namespace structure {

class Custom {
 public:
  virtual ~Custom() = default;
  // Adds this structure's statistics to in.result; together they may reject with probability
  // at most in.options.alpha() when the tensor holds what the theory promises.
  virtual void check(const StructureCheck& in) const = 0;
  // Whether check() reads nothing but in.moments and an evenly strided subsample, which shards
  // can merge; otherwise dist::check_sharded assembles the whole tensor first.
  virtual bool checkable_from_merged_statistics() const { return false; }
};

}  // namespace structure

// Building blocks for checks.

// An exact statistic: passes when no element mismatches; `what` names the expected values.
Statistic exact_statistic(const std::string& name, int64_t mismatches, int64_t n,
                          const std::string& what);
// Adds the "exact" statistic: the elements of in.values (reshaped to expected's shape) that
// differ from `expected`.
void add_exact_comparison(const StructureCheck& in, const at::Tensor& expected,
                          const std::string& what);
// Adds check()'s marginal tests of the flat contiguous `values` (moments `m`) against the
// continuous `d`: the mean and variance z-tests (when `moments_independent`, i.e. the elements
// are independent draws), Kolmogorov–Smirnov and Anderson–Darling, each at `alpha_each`.
void test_tensor_marginal(CheckResult& r, const at::Tensor& values, const stats::Moments& m,
                          const Distribution& d, double alpha_each, const CheckOptions& o,
                          bool moments_independent, at::ScalarType dtype);

}  // namespace torchinit
