#include "torchinit/slice.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include "torchinit/layout.h"

namespace torchinit {
namespace {

int64_t numel_of(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

}  // namespace

Slice Slice::dim(int64_t d, int64_t begin, int64_t end) {
  TORCH_CHECK(d >= 0, "torchinit::Slice::dim: dim must be >= 0, got ", d);
  Slice s;
  s.ranges_.push_back({d, begin, end});
  return s;
}

Slice Slice::box(std::vector<std::pair<int64_t, int64_t>> ranges) {
  Slice s;
  for (size_t d = 0; d < ranges.size(); ++d)
    s.ranges_.push_back({int64_t(d), ranges[d].first, ranges[d].second});
  return s;
}

Slice Slice::flat(int64_t begin, int64_t end) {
  Slice s;
  s.flat_ = true;
  s.flat_begin_ = begin;
  s.flat_end_ = end;
  return s;
}

std::string Slice::str() const {
  if (flat_) return fmt::format("flat [{}, {})", flat_begin_, flat_end_);
  if (ranges_.empty()) return "all";
  if (ranges_.size() == 1) {
    const auto& r = ranges_[0];
    const std::string name = r.dim == 0   ? "rows"
                             : r.dim == 1 ? "cols"
                                          : fmt::format("dim {}", r.dim);
    return fmt::format("{} [{}, {})", name, r.begin, r.end);
  }
  std::string out = "box";
  for (size_t i = 0; i < ranges_.size(); ++i)
    out += fmt::format("{}[{}, {})", i == 0 ? " " : " x ", ranges_[i].begin, ranges_[i].end);
  return out;
}

std::vector<std::pair<int64_t, int64_t>> Slice::resolve(const std::vector<int64_t>& full,
                                                        const char* who) const {
  TORCH_CHECK(!flat_, who, ": internal error: resolve of a flat slice");
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t d : full) out.emplace_back(0, d);
  for (const auto& r : ranges_) {
    TORCH_CHECK(r.dim < int64_t(full.size()), who, ": slice ", str(), " needs dim ", r.dim,
                ", but the full shape ", ParamInfo::from_shape(full).shape_str(), " has ",
                full.size(), " dims; slice a dim < ", full.size(), " or use Slice::flat");
    TORCH_CHECK(0 <= r.begin && r.begin <= r.end && r.end <= full[r.dim], who, ": slice ", str(),
                " is out of range for dim ", r.dim, " (size ", full[r.dim], ") of the full shape ",
                ParamInfo::from_shape(full).shape_str(),
                "; use 0 <= begin <= end <= ", full[r.dim]);
    out[r.dim] = {r.begin, r.end};
  }
  return out;
}

std::vector<int64_t> Slice::shard_shape(const std::vector<int64_t>& full, const char* who) const {
  if (flat_) return {numel(full, who)};
  std::vector<int64_t> shape;
  for (const auto& r : resolve(full, who)) shape.push_back(r.second - r.first);
  return shape;
}

int64_t Slice::numel(const std::vector<int64_t>& full, const char* who) const {
  if (!flat_) return numel_of(shard_shape(full, who));
  const int64_t n = numel_of(full);
  TORCH_CHECK(0 <= flat_begin_ && flat_begin_ <= flat_end_ && flat_end_ <= n, who, ": slice ",
              str(), " is out of range for the full shape ",
              ParamInfo::from_shape(full).shape_str(), " of ", n,
              " elements; use 0 <= begin <= end <= ", n);
  return flat_end_ - flat_begin_;
}

std::vector<ElementRun> Slice::runs(const std::vector<int64_t>& full, const char* who) const {
  if (flat_) {
    const int64_t n = numel(full, who);
    if (n == 0) return {};
    return {{flat_begin_, n}};
  }
  const auto box = resolve(full, who);
  const int64_t dims = int64_t(full.size());
  for (const auto& r : box)
    if (r.first == r.second) return {};
  if (numel_of(full) == 0) return {};
  // Runs are contiguous along the last partial dim k and the whole dims after it.
  int64_t k = -1;
  for (int64_t d = 0; d < dims; ++d)
    if (box[d].second - box[d].first != full[d]) k = d;
  if (k < 0) return {{0, numel_of(full)}};
  std::vector<int64_t> stride(dims, 1);
  for (int64_t d = dims - 2; d >= 0; --d) stride[d] = stride[d + 1] * full[d + 1];
  const int64_t length = (box[k].second - box[k].first) * stride[k];
  std::vector<ElementRun> out;
  std::vector<int64_t> index(k, 0);  // odometer over dims [0, k), relative to the box
  while (true) {
    int64_t first = box[k].first * stride[k];
    for (int64_t d = 0; d < k; ++d) first += (box[d].first + index[d]) * stride[d];
    out.push_back({first, length});
    int64_t d = k - 1;
    while (d >= 0 && ++index[d] == box[d].second - box[d].first) index[d--] = 0;
    if (d < 0) break;
  }
  return out;
}

}  // namespace torchinit
