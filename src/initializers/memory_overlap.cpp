#include "initializers/memory_overlap.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace torchinit::detail {
namespace {

struct Dim {
  uint64_t stride;
  uint64_t size;
};

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

uint64_t saturating_mul(uint64_t a, uint64_t b) {
  uint64_t out = 0;
  return __builtin_mul_overflow(a, b, &out) ? kSaturated : out;
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
  uint64_t out = 0;
  return __builtin_add_overflow(a, b, &out) ? kSaturated : out;
}

// Calls visit(offset) for every element's offset, odometer order; stops when visit returns true.
template <typename Visit>
bool any_offset(const std::vector<Dim>& dims, Visit visit) {
  std::vector<uint64_t> index(dims.size(), 0);
  uint64_t offset = 0;
  while (true) {
    if (visit(offset)) return true;
    size_t d = 0;
    for (; d < dims.size(); ++d) {
      if (++index[d] < dims[d].size) {
        offset += dims[d].stride;
        break;
      }
      offset -= dims[d].stride * (dims[d].size - 1);
      index[d] = 0;
    }
    if (d == dims.size()) return false;
  }
}

}  // namespace

bool elements_overlap(c10::IntArrayRef sizes, c10::IntArrayRef strides) {
  std::vector<Dim> dims;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == 0) return false;  // no elements
    if (sizes[i] == 1) continue;      // its stride is never used
    if (strides[i] == 0) return true;
    const int64_t s = strides[i];
    dims.push_back({s < 0 ? uint64_t(0) - uint64_t(s) : uint64_t(s), uint64_t(sizes[i])});
  }
  std::sort(dims.begin(), dims.end(),
            [](const Dim& a, const Dim& b) { return a.stride < b.stride; });
  // span: the largest offset the dims so far reach. A stride beyond it starts a fresh range (a
  // mixed-radix number system), so offsets stay distinct.
  uint64_t span = 0, numel = 1;
  bool disjoint = true;
  for (const Dim& d : dims) {
    disjoint = disjoint && d.stride > span;
    span = saturating_add(span, saturating_mul(d.stride, d.size - 1));
    numel = saturating_mul(numel, d.size);
  }
  if (disjoint) return false;
  // More elements than offsets in the span: two of them share one. A span no memory can hold
  // (2^64 elements) belongs to no real tensor.
  if (span == kSaturated || numel > span) return true;
  const uint64_t slots = span + 1;
  if (numel * 64 < slots) {  // sorted offsets (8 bytes each) are smaller than the bitmap
    std::vector<uint64_t> offsets;
    offsets.reserve(numel);
    any_offset(dims, [&](uint64_t o) {
      offsets.push_back(o);
      return false;
    });
    std::sort(offsets.begin(), offsets.end());
    return std::adjacent_find(offsets.begin(), offsets.end()) != offsets.end();
  }
  std::vector<uint64_t> seen((slots + 63) / 64, 0);
  return any_offset(dims, [&](uint64_t o) {
    const uint64_t bit = uint64_t(1) << (o % 64);
    if (seen[o / 64] & bit) return true;
    seen[o / 64] |= bit;
    return false;
  });
}

}  // namespace torchinit::detail
