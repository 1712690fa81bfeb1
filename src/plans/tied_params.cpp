#include "plans/tied_params.h"

#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace torchinit::detail {
namespace {

// Bytes [begin, end) of the storage a tensor's elements span.
std::pair<int64_t, int64_t> byte_span(const at::Tensor& t) {
  int64_t last = 0;
  for (int64_t d = 0; d < t.dim(); ++d) last += (t.size(d) - 1) * t.stride(d);
  const int64_t item = int64_t(t.element_size());
  return {t.storage_offset() * item, (t.storage_offset() + last + 1) * item};
}

// The bytes of `t` as a strided view of a byte map that starts at storage byte `origin`.
at::Tensor bytes_of(const at::Tensor& map, const at::Tensor& t, int64_t origin) {
  const int64_t item = int64_t(t.element_size());
  std::vector<int64_t> sizes = t.sizes().vec(), strides = t.strides().vec();
  for (auto& s : strides) s *= item;
  sizes.push_back(item);
  strides.push_back(1);
  return map.as_strided(sizes, strides, t.storage_offset() * item - origin);
}

// Whether two views of one storage whose byte spans intersect share a byte: one byte map over
// both spans (the memory of the two views' span, only for views that are neither the same view
// nor apart), marked through the first view and read through the second. Exact for interleaved
// views (even and odd columns are apart).
bool share_bytes(const at::Tensor& a, const at::Tensor& b) {
  const auto [a0, a1] = byte_span(a);
  const auto [b0, b1] = byte_span(b);
  const int64_t origin = std::min(a0, b0);
  const at::Tensor map = at::zeros({std::max(a1, b1) - origin}, at::kBool);
  bytes_of(map, a, origin).fill_(true);
  return bytes_of(map, b, origin).any().item<bool>();
}

}  // namespace

std::vector<TiedGroup> tie_groups(const std::vector<ModuleParam>& params) {
  using ViewKey =
      std::tuple<const void*, int64_t, std::vector<int64_t>, std::vector<int64_t>, std::string>;
  std::map<const void*, size_t> by_impl;
  std::map<ViewKey, size_t> by_view;
  std::vector<TiedGroup> groups;
  // Per storage: (first byte, end byte, group) of every distinct view, for the overlap check.
  std::map<const void*, std::vector<std::tuple<int64_t, int64_t, size_t>>> spans;
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& t = params[i].tensor;
    const void* impl = t.unsafeGetTensorImpl();
    if (const auto it = by_impl.find(impl); it != by_impl.end()) {
      groups[it->second].aliases.push_back(i);
      continue;
    }
    const bool stored = t.has_storage() && t.numel() > 0;
    std::optional<ViewKey> key;
    if (stored) {
      key = ViewKey{t.storage().unsafeGetStorageImpl(), t.storage_offset(), t.sizes().vec(),
                    t.strides().vec(), std::string(t.dtype().name())};
      if (const auto it = by_view.find(*key); it != by_view.end()) {
        groups[it->second].aliases.push_back(i);
        by_impl.emplace(impl, it->second);
        continue;
      }
    }
    groups.push_back(TiedGroup{i, {}});
    by_impl.emplace(impl, groups.size() - 1);
    if (key) {
      by_view.emplace(*key, groups.size() - 1);
      const auto [begin, end] = byte_span(t);
      spans[std::get<0>(*key)].emplace_back(begin, end, groups.size() - 1);
    }
  }
  for (auto& [storage, views] : spans) {
    std::sort(views.begin(), views.end());
    // Sweep in order of first byte: each view against the earlier ones still open at its start.
    std::vector<size_t> open;
    for (size_t v = 0; v < views.size(); ++v) {
      const auto& [begin, end, group] = views[v];
      // Structured bindings cannot be captured in C++17 (clang refuses): capture copies.
      const auto& all = views;
      const auto start = begin;
      open.erase(std::remove_if(open.begin(), open.end(),
                                [&all, start](size_t o) { return std::get<1>(all[o]) <= start; }),
                 open.end());
      for (const size_t o : open) {
        const ModuleParam& a = params[groups[std::get<2>(views[o])].canonical];
        const ModuleParam& b = params[groups[group].canonical];
        TORCH_CHECK(!share_bytes(a.tensor, b.tensor), "torchinit::Plan::apply: parameters ",
                    a.info.path, " ", a.info.shape_str(), " and ", b.info.path, " ",
                    b.info.shape_str(),
                    " are different views of one storage that overlap: initializing one would "
                    "change the other. Tie them as one tensor (the same view) or give each its "
                    "own storage. No parameter was changed.");
      }
      open.push_back(v);
    }
  }
  return groups;
}

}  // namespace torchinit::detail
