// check() of a parameter from statistics its shards merge, for front ends that run their own
// collectives (Python's torch.distributed through the op library). torchinit::dist::check_sharded
// is these steps around its own Gloo collectives, so both give check()'s verdict on the full
// parameter without any rank holding it:
//   1. every rank: tensor_moments(shard); merged with stats::Moments::merge in rank order;
//   2. every rank: shard_subsample(shard, full_shape, slice); summed over ranks;
//   3. every rank: check_merged(theory, merged, summed, dtype).
// Constants merge a count of differing elements instead (constant_from_shards). Theories that read
// more (exact values, structure across elements) need the full tensor: checkable_from_shards()
// says which.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "torchinit/check.h"
#include "torchinit/slice.h"
#include "torchinit/stats.h"

namespace torchinit {

// True when check(tensor, theory) reads only the moments and check()'s strided subsample: a
// continuous uniform, normal or truncated normal marginal with no structure across elements.
bool checkable_from_shards(const Distribution& theory);

// This shard's part of check()'s subsample of the full parameter (element floor(i n / k) for
// i < k = min(n, options.shape_sample()), n = the full parameter's numel), as a double tensor of
// k + 1 values: the subsample positions the shard holds carry their values, the others 0, and the
// last value counts the positions written. Summed over the ranks it is the whole subsample.
at::Tensor shard_subsample(const at::Tensor& shard, const std::vector<int64_t>& full_shape,
                           const Slice& slice, const CheckOptions& options = {});

// check()'s verdict on the full parameter from the ranks' merged moments and summed subsample;
// `dtype` is the parameter's (it sets the rounding the tests allow for). Needs
// checkable_from_shards(theory).
CheckResult check_merged(const Distribution& theory, const stats::Moments& merged,
                         const at::Tensor& summed_subsample, at::ScalarType dtype,
                         const CheckOptions& options = {});

// The constant families (zeros, ones, constant): check() needs only how many elements differ
// from the constant as stored in the tensor's dtype, which the shards count and sum.
bool constant_from_shards(const Distribution& theory);
// Elements of `shard` that differ from theory's constant stored in the shard's dtype.
int64_t count_not_constant(const at::Tensor& shard, const Distribution& theory);
// check()'s verdict on a constant parameter of n elements of which `differing` (summed over the
// shards) differ; needs constant_from_shards(theory).
CheckResult check_constant_merged(const Distribution& theory, int64_t n, int64_t differing,
                                  const CheckOptions& options = {});

}  // namespace torchinit
