"""check() of a sharded parameter from Python's torch.distributed, without gathering it.

Every rank passes its shard and slice; the ranks' moments ([n, mean, m2, m3, m4]) and their
parts of check()'s strided subsample are combined with all_reduce, and C++ merges the moments
in rank order (Chan / Pébay) exactly as torchinit::dist::check_sharded does. So the verdict and
the statistics are those of check() on the assembled parameter. Theories that need the whole
tensor (orthogonal, sparse, exact values) assemble it on every rank with one all_reduce.
"""
import json
import math

import torch
import torch.distributed as dist

from .shard import Slice


def check_sharded(shard, spec, full_shape, slice, alpha=1e-6, group=None):
    """check(full, spec, alpha) computed from every rank's ``shard`` of ``slice``; collective:
    every rank of ``group`` calls it with its own shard. Returns a torchinit.CheckResult."""
    from . import CheckResult, check  # the package's objects, after it has loaded the ops

    if not isinstance(slice, Slice):
        raise TypeError("torchinit.check_sharded: slice must be a torchinit.Slice")
    full_shape = [int(s) for s in full_shape]
    ops = torch.ops.torchinit
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    rows = torch.zeros(world, 5, dtype=torch.float64)
    rows[rank] = torch.tensor(ops.moments(shard), dtype=torch.float64)
    dist.all_reduce(rows, group=group)  # each row is one rank's: zeros plus its own values
    finite = all(math.isfinite(v) for v in rows[:, 1:].flatten().tolist())
    if not finite or not ops.checkable_from_shards(spec, full_shape):
        full = torch.zeros(full_shape, dtype=torch.float64)
        slice.view(full).copy_(shard.detach().to(torch.float64).reshape(slice.view(full).shape))
        dist.all_reduce(full, group=group)
        return check(full.to(shard.dtype), spec, alpha)
    sample = ops.shard_subsample(shard, full_shape, slice._encoded, slice._flat)
    dist.all_reduce(sample, group=group)
    return CheckResult(json.loads(ops.check_merged(spec, full_shape, rows.flatten().tolist(),
                                                   sample, shard.dtype, float(alpha))))
