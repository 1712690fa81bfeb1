// Moments, seeds and full tensors across ranks, on top of Context's collectives.
#include <ATen/Functions.h>
#include <c10/util/Exception.h>

#include <cstring>

#include "torchinit/distributed.h"

namespace torchinit::dist {

stats::Moments all_reduce_moments(Context& ctx, const stats::Moments& local) {
  const at::Tensor mine = at::tensor(
      std::vector<double>{double(local.n), local.mean, local.m2, local.m3, local.m4}, at::kDouble);
  stats::Moments total;
  for (const at::Tensor& t : ctx.all_gather(mine, "all_reduce_moments")) {
    const double* v = t.data_ptr<double>();
    stats::Moments m;
    m.n = int64_t(v[0]);
    m.mean = v[1];
    m.m2 = v[2];
    m.m3 = v[3];
    m.m4 = v[4];
    total = stats::Moments::merge(total, m);  // rank order: the same result on every rank
  }
  return total;
}

uint64_t agree_seed(Context& ctx, const InitOptions& options) {
  const uint64_t mine = ctx.rank() == 0 ? resolve_seed(options) : 0;
  int64_t bits;
  std::memcpy(&bits, &mine, sizeof bits);
  at::Tensor t = at::tensor(std::vector<int64_t>{bits}, at::kLong);
  ctx.all_reduce_sum(t, "agree_seed");  // rank 0's bits plus zeros
  bits = t.item<int64_t>();
  uint64_t seed;
  std::memcpy(&seed, &bits, sizeof seed);
  return seed;
}

namespace {

// Assembles the full parameter from every rank's shard: runs and data padded to the largest
// rank's, then all-gathered (root < 0) or gathered to `root`.
at::Tensor assemble_full(Context& ctx, const at::Tensor& shard, at::IntArrayRef full_shape,
                         const Slice& slice, int root, const char* who) {
  const std::vector<int64_t> full = full_shape.vec();
  const std::vector<ElementRun> runs = slice.runs(full, who);
  TORCH_CHECK(shard.numel() == slice.numel(full, who), who, ": the shard holds ", shard.numel(),
              " elements, slice ", slice.str(), " has ", slice.numel(full, who),
              "; pass the shard's own slice");
  // Sizes first (every rank needs the padding), then runs and data.
  const auto sizes = ctx.all_gather(
      at::tensor(std::vector<int64_t>{int64_t(runs.size()), shard.numel()}, at::kLong), who);
  int64_t max_runs = 0, max_numel = 0;
  for (const auto& s : sizes) {
    max_runs = std::max(max_runs, s[0].item<int64_t>());
    max_numel = std::max(max_numel, s[1].item<int64_t>());
  }
  at::Tensor my_runs = at::zeros({2 * std::max<int64_t>(max_runs, 1)}, at::kLong);
  int64_t* mr = my_runs.data_ptr<int64_t>();
  for (size_t i = 0; i < runs.size(); ++i) {
    mr[2 * i] = runs[i].first;
    mr[2 * i + 1] = runs[i].count;
  }
  at::Tensor my_data =
      at::zeros({std::max<int64_t>(max_numel, 1)}, shard.options().device(at::kCPU));
  if (shard.numel() > 0) my_data.narrow(0, 0, shard.numel()).copy_(shard.reshape({-1}));
  const auto all_runs = root < 0 ? ctx.all_gather(my_runs, who) : ctx.gather(my_runs, root, who);
  const auto all_data = root < 0 ? ctx.all_gather(my_data, who) : ctx.gather(my_data, root, who);
  if (all_data.empty()) return at::Tensor();  // not the root
  at::Tensor out = at::empty(full, my_data.options());
  std::vector<uint8_t> covered(out.numel(), 0);
  const size_t item = out.element_size();
  auto* dst = static_cast<char*>(out.data_ptr());
  for (int r = 0; r < ctx.world_size(); ++r) {
    const int64_t* rr = all_runs[r].data_ptr<int64_t>();
    const auto* src = static_cast<const char*>(all_data[r].data_ptr());
    int64_t pos = 0;
    for (int64_t i = 0; i < sizes[r][0].item<int64_t>(); ++i) {
      const int64_t first = rr[2 * i], count = rr[2 * i + 1];
      for (int64_t e = first; e < first + count; ++e)
        TORCH_CHECK(covered[e]++ == 0, who, ": element ", e,
                    " of the full parameter is in the slices of two ranks (rank ", r,
                    " among them); give each rank a disjoint slice");
      std::memcpy(dst + first * item, src + pos * item, count * item);
      pos += count;
    }
  }
  for (int64_t e = 0; e < out.numel(); ++e)
    TORCH_CHECK(covered[e] == 1, who, ": element ", e,
                " of the full parameter is in no rank's slice; the slices must cover it");
  return out;
}

}  // namespace

at::Tensor all_gather_full(Context& ctx, const at::Tensor& shard, at::IntArrayRef full_shape,
                           const Slice& slice) {
  return assemble_full(ctx, shard, full_shape, slice, -1, "torchinit::dist::all_gather_full");
}

at::Tensor gather_full(Context& ctx, const at::Tensor& shard, at::IntArrayRef full_shape,
                       const Slice& slice, int root) {
  TORCH_CHECK(root >= 0 && root < ctx.world_size(), "torchinit::dist::gather_full: root ", root,
              " is not a rank of ", ctx.world_size());
  return assemble_full(ctx, shard, full_shape, slice, root, "torchinit::dist::gather_full");
}

}  // namespace torchinit::dist
