// The checks of the structured families (one per alternative of TypedStructure, each defined in
// its initializer's file), what check() hands them, the statistics helpers they share with
// check(), and which structures a sharded check may judge from merged shard statistics.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "torchinit/check.h"
#include "torchinit/distribution.h"
#include "torchinit/stats.h"
#include "torchinit/structure.h"

namespace torchinit::detail {

// What check() hands a structure's check; the check adds its statistics to `result`.
struct StructureCheck {
  CheckResult& result;
  const at::Tensor& values;       // the checked tensor, contiguous CPU float32 or float64
  const stats::Moments& moments;  // of `values`, all finite
  at::ScalarType dtype;           // the checked tensor's own dtype
  const Distribution& theory;     // the theory whose typed_structure() is being checked
  const CheckOptions& options;
};

// One check per structure (structure::None is check()'s own marginal check).
void check_structure(const structure::Orthogonal& s, const StructureCheck& in);  // orthogonal.cpp
void check_structure(const structure::Sparse& s, const StructureCheck& in);      // sparse.cpp
void check_structure(const structure::Eye& s, const StructureCheck& in);         // eye.cpp
void check_structure(const structure::Dirac& s, const StructureCheck& in);       // dirac.cpp
void check_structure(const structure::DeltaOrthogonal& s,
                     const StructureCheck& in);                              // delta_orthogonal.cpp
void check_structure(const structure::Chrono& s, const StructureCheck& in);  // chrono.cpp
void check_structure(const structure::BlockConstant& s,
                     const StructureCheck& in);  // forget_gate_bias.cpp

// Whether check() of a structure reads nothing but the moments and the evenly strided subsample,
// which shards can merge; otherwise check_sharded assembles the whole tensor. A structure
// constrains values jointly unless it says otherwise here.
template <typename S>
inline constexpr bool kCheckableFromMergedStatistics = false;
template <>
inline constexpr bool kCheckableFromMergedStatistics<structure::None> = true;

inline bool checkable_from_merged_statistics(const TypedStructure& s) {
  return std::visit(
      [](const auto& st) { return kCheckableFromMergedStatistics<std::decay_t<decltype(st)>>; }, s);
}

// Helpers shared with check() (check.cpp).

// An exact statistic: passes when no element mismatches.
Statistic exact_statistic(const std::string& name, int64_t mismatches, int64_t n,
                          const std::string& what);
// Adds the "exact" statistic: the elements of in.values (reshaped) that differ from `expected`.
void add_exact_comparison(const StructureCheck& in, const at::Tensor& expected,
                          const std::string& what);
// Moments (when `moments_independent`) and shape tests of the flat contiguous `values`
// (moments `m`) against the continuous `d`, each at `alpha_each`.
void test_tensor_marginal(CheckResult& r, const at::Tensor& values, const stats::Moments& m,
                          const Distribution& d, double alpha_each, const CheckOptions& o,
                          bool moments_independent, at::ScalarType dtype);

}  // namespace torchinit::detail
