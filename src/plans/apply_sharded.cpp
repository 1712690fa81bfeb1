// Plan::apply_sharded: each rank initializes its shards of a module's parameters, with the fans,
// roles and blocks of the full parameters.
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/module.h>

#include <map>
#include <optional>
#include <set>

#include "plans/resolve.h"
#include "plans/tied_params.h"
#include "torchinit/plan.h"
#include "torchinit/plan_params.h"
#include "torchinit/shard.h"
#include "torchinit/spec.h"

namespace torchinit {

using detail::block_key;
using detail::Planned;
using detail::resolve;
using detail::tie_groups;
using detail::TiedGroup;
using detail::zero_padding_row;

namespace {

// The part of `slice` (of the full parameter) inside stacked block `b` of `rows` rows along
// dim 0: the block's own slice and where it sits in the shard; nullopt when they do not meet.
struct BlockPart {
  Slice slice;
  at::Tensor target;
};
std::optional<BlockPart> block_part(const at::Tensor& shard, const ParamInfo& full,
                                    const Slice& slice, int64_t b, int64_t rows) {
  constexpr const char* who = "torchinit::Plan::apply_sharded";
  if (slice.is_flat()) {
    const int64_t per_block = full.numel() / full.shape[0] * rows;
    const auto [f0, f1] = slice.flat_range();
    const int64_t lo = std::max(f0, b * per_block), hi = std::min(f1, (b + 1) * per_block);
    if (lo >= hi) return std::nullopt;
    return BlockPart{Slice::flat(lo - b * per_block, hi - b * per_block),
                     shard.view({-1}).narrow(0, lo - f0, hi - lo)};
  }
  auto box = slice.resolve(full.shape, who);
  const int64_t lo = std::max(box[0].first, b * rows), hi = std::min(box[0].second, (b + 1) * rows);
  if (lo >= hi) return std::nullopt;
  const int64_t shard_lo = lo - box[0].first;
  box[0] = {lo - b * rows, hi - b * rows};
  return BlockPart{Slice::box(box), shard.narrow(0, shard_lo, hi - lo)};
}

// c10::Error unless `tensor` has the shape of its shard `shard` (a flat shard: its numel, and
// contiguous).
void check_shard_fits(const char* who, const std::string& path, const at::Tensor& tensor,
                      const ParamShard& shard) {
  const std::vector<int64_t> want = shard.slice.shard_shape(shard.full_shape, who);
  const bool fits =
      shard.slice.is_flat() ? tensor.numel() == want[0] : tensor.sizes().vec() == want;
  TORCH_CHECK(fits, who, ": parameter ", path, " has shape ",
              fmt::format("[{}]", fmt::join(tensor.sizes(), ", ")), ", but its shard ",
              shard.slice.str(), " of the full shape ",
              fmt::format("[{}]", fmt::join(shard.full_shape, ", ")), " has shape ",
              fmt::format("[{}]", fmt::join(want, ", ")),
              "; fix the ShardMap entry or the module's parameter. No parameter was changed.");
  TORCH_CHECK(!shard.slice.is_flat() || tensor.is_contiguous(), who, ": the flat shard ", path,
              " must be contiguous; make the parameter contiguous");
}

void check_backend(const char* who, const ApplyOptions& options) {
  TORCH_CHECK(options.backend() == Backend::Philox, who,
              ": needs Backend::Philox (LibTorch's generator cannot produce one slice of a "
              "tensor); drop .backend(Backend::Torch)");
}

}  // namespace

Report apply_sharded_params(const Plan& plan, std::vector<ModuleParam> params,
                            const ShardMap& shards, const ApplyOptions& options) {
  constexpr const char* who = "torchinit::apply_sharded_params";
  check_backend(who, options);
  std::map<std::string, size_t> index;
  std::vector<std::string> paths;
  for (size_t i = 0; i < params.size(); ++i) {
    index.emplace(params[i].info.path, i);
    paths.push_back(params[i].info.path);
  }
  for (const auto& [path, shard] : shards) {
    const auto it = index.find(path);
    TORCH_CHECK(it != index.end(), who, ": the ShardMap names ", path,
                ", which is not among the parameters;", did_you_mean(path, paths),
                " No parameter was changed.");
    const ModuleParam& mp = params[it->second];
    TORCH_CHECK(shard.full_shape == mp.info.shape, who, ": the ShardMap gives ", path,
                " the full shape ", fmt::format("[{}]", fmt::join(shard.full_shape, ", ")),
                ", but it is described as ", mp.info.shape_str(),
                "; describe the full parameter. No parameter was changed.");
    check_shard_fits(who, path, mp.tensor, shard);
  }
  Report report;
  const std::vector<Planned> planned = resolve(plan, std::move(params), options, report);
  const uint64_t seed = resolve_seed(InitOptions().seed(options.seed()));
  report.set_seed(seed);
  at::NoGradGuard no_grad;
  for (const auto& p : planned) {
    if (!p.init) continue;
    const ParamInfo& info = p.param.info;
    // The shard of this tensor, named by its canonical path or by one of its aliases.
    Slice slice = Slice::all();
    if (const auto it = shards.find(info.path); it != shards.end()) slice = it->second.slice;
    for (const auto& alias : p.aliases)
      if (const auto it = shards.find(alias); it != shards.end()) slice = it->second.slice;
    const int64_t blocks = info.layout.blocks;
    if (blocks == 1) {
      init_shard_(p.param.tensor, *p.init, info, slice, InitOptions().seed(seed).key(info.path));
    } else {
      const int64_t rows = info.shape[0] / blocks;  // stacked layouts stack along dim 0
      for (int64_t b = 0; b < blocks; ++b) {
        const auto part = block_part(p.param.tensor, info, slice, b, rows);
        if (!part) continue;
        init_shard_(part->target, *p.init, info.block(b), part->slice,
                    InitOptions().seed(seed).key(block_key(info.path, b, blocks)));
      }
    }
    if (p.padding_idx) zero_padding_row(p.param.tensor, info, *p.padding_idx, slice);
  }
  return report;
}

Report Plan::apply_sharded(torch::nn::Module& module, const ShardMap& shards,
                           const ApplyOptions& options) const {
  constexpr const char* who = "torchinit::Plan::apply_sharded";
  check_backend(who, options);
  auto named = module.named_parameters();
  std::vector<std::string> unknown;
  for (const auto& item : shards) {
    if (named.find(item.first) == nullptr) {
      unknown.push_back(item.first);
      continue;
    }
    check_shard_fits(who, item.first, named[item.first], item.second);
  }
  TORCH_CHECK(unknown.empty(), who, ": the ShardMap names ",
              fmt::format("{}", fmt::join(unknown, ", ")), ", which the module does not have;",
              did_you_mean(unknown.empty() ? "" : unknown[0], named.keys()),
              " use the paths of named_parameters(). No parameter was changed.");
  // The layouts (roles, fans, fans lent to biases) of the full parameters: module_params on the
  // module with each shard swapped for a stand-in of the full shape (a broadcast scalar, no
  // memory), then the shards back. A tied tensor is swapped once, whichever of its paths the
  // ShardMap names.
  std::vector<ModuleParam> params;
  {
    std::vector<std::pair<at::Tensor, at::Tensor>> swapped;  // parameter, its shard's data
    struct Restore {
      std::vector<std::pair<at::Tensor, at::Tensor>>& swapped;
      ~Restore() {
        for (auto& [param, data] : swapped) param.set_data(data);
      }
    } restore{swapped};
    at::NoGradGuard no_grad;
    // The paths of each tensor as the module holds it now (shards), so that every path of a
    // tied tensor gets the stand-in.
    std::vector<ModuleParam> held;
    for (const auto& item : named)
      held.push_back({ParamInfo::from_shape(item.value().sizes().vec(), item.key()), item.value()});
    std::map<std::string, size_t> group_of;
    const std::vector<TiedGroup> groups = tie_groups(held);
    for (size_t g = 0; g < groups.size(); ++g) {
      group_of[held[groups[g].canonical].info.path] = g;
      for (const size_t a : groups[g].aliases) group_of[held[a].info.path] = g;
    }
    std::map<size_t, std::string> named_by;  // group -> the ShardMap path naming it
    for (const auto& item : shards) {
      const size_t g = group_of.at(item.first);
      const auto [it, fresh] = named_by.emplace(g, item.first);
      if (!fresh) {
        const ParamShard& first = shards.at(it->second);
        TORCH_CHECK(first.full_shape == item.second.full_shape &&
                        first.slice.str() == item.second.slice.str(),
                    who, ": ", it->second, " and ", item.first,
                    " are one tensor (tied weights) but the ShardMap gives them different "
                    "shards; name one of them, or the same shard for both");
        continue;
      }
      std::vector<size_t> members = groups[g].aliases;
      members.insert(members.begin(), groups[g].canonical);
      std::set<const void*> impls;
      for (const size_t m : members) {
        at::Tensor param = held[m].tensor;
        if (!impls.insert(param.unsafeGetTensorImpl()).second) continue;
        swapped.emplace_back(param, param.data());
        param.set_data(at::empty({1}, param.options()).expand(item.second.full_shape));
      }
    }
    params = module_params(module);
  }
  for (auto& mp : params) mp.tensor = named[mp.info.path];
  return apply_sharded_params(*this, std::move(params), shards, options);
}

}  // namespace torchinit
