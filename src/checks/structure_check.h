// The checks of torchinit's own structured families (one per closed alternative of
// TypedStructure, each defined in its initializer's file), and which structures a sharded check
// may judge from merged shard statistics. What a check is handed and the statistics helpers are
// public (torchinit/custom_structure.h), for structure::Custom.
#pragma once

#include <memory>
#include <type_traits>
#include <variant>

#include "torchinit/custom_structure.h"
#include "torchinit/structure.h"

namespace torchinit::detail {

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
      [](const auto& st) {
        using S = std::decay_t<decltype(st)>;
        if constexpr (std::is_same_v<S, std::shared_ptr<const structure::Custom>>) {
          return st->checkable_from_merged_statistics();
        } else {
          return kCheckableFromMergedStatistics<S>;
        }
      },
      s);
}

}  // namespace torchinit::detail
