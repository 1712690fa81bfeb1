"""torchinit from torch.distributed: 4 Gloo processes on localhost (issue item 4).

Each rank fills its row shard, then its column shard, of a 4096 x 16384 Linear weight with
init_shard_; the gathered shards equal the single-process init_ byte for byte. check_sharded
merges the ranks' moments and subsample parts with all_reduce and gives check()'s verdict on
the whole parameter (alpha = 1e-6, the check's own family-wise rate).
"""
import datetime
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import torchinit
from torchinit import Slice

WORLD = 4
FULL = (4096, 16384)
SPEC = "kaiming_uniform(a=2.23606797749979)"  # nn.Linear's default weight init, by name
SEED, KEY = 20261202, "fc.weight"
TIMEOUT = datetime.timedelta(seconds=120)

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch without torch.distributed")


def full_init():
    return torchinit.init_(torch.empty(FULL), SPEC, seed=SEED, key=KEY)


def gathered(shard, dim):
    """The shards of every rank concatenated along ``dim`` on rank 0 (None elsewhere)."""
    parts = [torch.empty_like(shard) for _ in range(WORLD)] if dist.get_rank() == 0 else None
    dist.gather(shard.contiguous(), parts, dst=0)
    return torch.cat(parts, dim) if parts else None


def rank_main(rank, port):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD, timeout=TIMEOUT)
    want = full_init() if rank == 0 else None
    rows, cols = FULL[0] // WORLD, FULL[1] // WORLD
    row_slice = Slice.rows(rank * rows, (rank + 1) * rows)
    row_shard = torchinit.init_shard_(torch.empty(rows, FULL[1]), SPEC, FULL, row_slice,
                                      seed=SEED, key=KEY)
    col_shard = torchinit.init_shard_(torch.empty(FULL[0], cols), SPEC, FULL,
                                      Slice.cols(rank * cols, (rank + 1) * cols),
                                      seed=SEED, key=KEY)
    by_rows, by_cols = gathered(row_shard, 0), gathered(col_shard, 1)
    if rank == 0:
        assert torch.equal(by_rows, want), "row shards differ from the single-process init_"
        assert torch.equal(by_cols, want), "column shards differ from the single-process init_"

    # check_sharded: every rank gets the single-process verdict and statistics.
    result = torchinit.check_sharded(row_shard, SPEC, FULL, row_slice, alpha=1e-6)
    assert result.passed, result.summary()
    assert result.n == FULL[0] * FULL[1]
    if rank == 0:
        single = torchinit.check(want, SPEC, alpha=1e-6)
        assert single.passed == result.passed
        for a, b in zip(single.statistics, result.statistics):
            assert a["name"] == b["name"] and a["passed"] == b["passed"]
            # The same subsample; moments merged in another order: equal to rounding.
            assert b["value"] == pytest.approx(a["value"], rel=1e-9, abs=1e-12), a["name"]
    # Twice the scale is rejected on every rank (the variance z-test: power ~1 at n = 6.7e7).
    wrong = torchinit.check_sharded(row_shard * 2, SPEC, FULL, row_slice, alpha=1e-6)
    assert not wrong.passed
    # A structured theory (orthogonal) is checked on the assembled tensor instead.
    small = (64, 32)
    q_slice = Slice.rows(rank * 16, (rank + 1) * 16)
    q = torchinit.init_shard_(torch.empty(16, 32), "orthogonal", small, q_slice, seed=SEED, key="q")
    assert torchinit.check_sharded(q, "orthogonal", small, q_slice).passed
    dist.barrier()
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_four_ranks_shard_rows_and_columns_and_check_without_gathering():
    context = mp.spawn(rank_main, args=(free_port(),), nprocs=WORLD, join=False)
    deadline = datetime.datetime.now() + TIMEOUT + datetime.timedelta(seconds=60)
    while not context.join(timeout=5):  # raises with the rank's traceback if one fails
        if datetime.datetime.now() > deadline:
            for p in context.processes:
                p.kill()
            pytest.fail(f"the {WORLD} ranks did not finish within {TIMEOUT + datetime.timedelta(seconds=60)}")


def test_statistics_names_match_between_check_and_check_sharded_on_one_rank(tmp_path):
    # World size 1 (FileStore): check_sharded of the whole tensor is check() itself.
    store = dist.FileStore(os.path.join(tmp_path, "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1, timeout=TIMEOUT)
    try:
        w = torchinit.init_(torch.empty(512, 256), "normal(std=0.02)", seed=3, key="w")
        a = torchinit.check(w, "normal(std=0.02)")
        b = torchinit.check_sharded(w, "normal(std=0.02)", (512, 256), Slice.all())
        assert [s["name"] for s in a.statistics] == [s["name"] for s in b.statistics]
        assert a.passed and b.passed
        with pytest.raises(RuntimeError, match="pass the shard's own slice"):
            torchinit.check_sharded(w[:100], "normal(std=0.02)", (512, 256), Slice.all())
    finally:
        dist.destroy_process_group()
