// Slice: which part of a full parameter a shard holds. Either a box (a [begin, end) range per
// dim; rows = dim 0, cols = dim 1, dims not given are whole) or a flat [begin, end) range of the
// row-major flattened parameter (FSDP-style flat chunks).
//
//   torchinit::Slice::rows(0, 1024);          // rows [0, 1024) of a [4096, 16384] weight
//   torchinit::Slice::cols(4096, 8192);       // columns [4096, 8192)
//   torchinit::Slice::flat(1000, 2000);       // elements [1000, 2000) of the flattened tensor
//   torchinit::Slice::box({{0, 8}, {2, 4}});  // rows [0, 8), cols [2, 4), the rest whole
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace torchinit {

// A run of consecutive elements [first, first + count) of the flattened full parameter.
struct ElementRun {
  int64_t first = 0;
  int64_t count = 0;
};

class Slice {
 public:
  static Slice rows(int64_t begin, int64_t end) { return dim(0, begin, end); }
  static Slice cols(int64_t begin, int64_t end) { return dim(1, begin, end); }
  // [begin, end) along dim `d`, every other dim whole.
  static Slice dim(int64_t d, int64_t begin, int64_t end);
  // [begin, end) per leading dim, in order; trailing dims not given are whole.
  static Slice box(std::vector<std::pair<int64_t, int64_t>> ranges);
  static Slice flat(int64_t begin, int64_t end);
  // The whole parameter.
  static Slice all() { return box({}); }

  bool is_flat() const { return flat_; }
  // [begin, end) of a flat slice.
  std::pair<int64_t, int64_t> flat_range() const { return {flat_begin_, flat_end_}; }

  // Checks the slice against `full_shape` (c10::Error naming `who`, the range and the fix) and
  // returns [begin, end) for every dim of the full shape (box slices only).
  std::vector<std::pair<int64_t, int64_t>> resolve(const std::vector<int64_t>& full_shape,
                                                   const char* who) const;
  // The shape a shard of this slice has: the box's extents, or {end - begin} for flat slices
  // (a flat shard may have any shape with that many elements).
  std::vector<int64_t> shard_shape(const std::vector<int64_t>& full_shape,
                                   const char* who = "torchinit::Slice") const;
  int64_t numel(const std::vector<int64_t>& full_shape, const char* who = "torchinit::Slice") const;
  // The element runs of the full parameter that the slice covers, in the row-major order of
  // the shard (maximal runs: trailing whole dims are merged).
  std::vector<ElementRun> runs(const std::vector<int64_t>& full_shape,
                               const char* who = "torchinit::Slice") const;
  // "rows [0, 8)", "cols [2, 4)", "flat [10, 20)", "box [0, 8) x [2, 4)".
  std::string str() const;

 private:
  bool flat_ = false;
  int64_t flat_begin_ = 0, flat_end_ = 0;
  // Per dim: (dim, begin, end); dims absent are whole.
  struct DimRange {
    int64_t dim, begin, end;
  };
  std::vector<DimRange> ranges_;
};

}  // namespace torchinit
