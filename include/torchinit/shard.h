// Sharded init: a tensor that holds a slice of a full parameter gets exactly the bytes the full
// init_ would put there, using shard-sized memory for element-wise initializers. Values depend
// on (seed, key, element index of the full parameter) only, so they do not depend on the world
// size or on how the parameter is cut.
//
//   at::Tensor shard = torch::empty({1024, 16384});   // rows [1024, 2048) of a [4096, 16384]
//   torchinit::init_shard_(shard, "kaiming_normal", {4096, 16384},
//                          torchinit::Slice::rows(1024, 2048),
//                          torchinit::InitOptions().seed(7).key("fc.weight"));
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "torchinit/init.h"
#include "torchinit/slice.h"

namespace torchinit {

// Where a shard sits in its full parameter.
struct ParamShard {
  std::vector<int64_t> full_shape;
  Slice slice;
};
// Parameter path ("layer1.0.conv1.weight") -> its shard description; for Plan::apply_sharded.
using ShardMap = std::map<std::string, ParamShard, std::less<>>;

// Fills `shard` with slice `slice` of the parameter of shape `full_shape` that
// init_(full, spec, options) would produce; theory and fans come from the full shape. Needs
// Backend::Philox and an explicit seed or a LibTorch generator seeded alike on every rank. On
// bad input (slice out of range, shard shape not the slice's, spec not applicable to the full
// shape) it throws c10::Error and leaves the shard unchanged.
at::Tensor& init_shard_(at::Tensor& shard, std::string_view spec, at::IntArrayRef full_shape,
                        const Slice& slice, const InitOptions& options = {});
const at::Tensor& init_shard_(const at::Tensor& shard, const Initializer& initializer,
                              const ParamInfo& full, const Slice& slice,
                              const InitOptions& options = {});

}  // namespace torchinit
