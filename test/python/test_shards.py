"""init_shard_ from Python: any cut of a parameter, assembled, is bitwise the full init_."""
import pytest
import torch

import torchinit
from torchinit import Slice

FULL = (96, 80)
SPECS = ["normal(std=0.02)", "kaiming_uniform(nonlinearity=relu)", "trunc_normal(std=0.5)",
         "xavier_normal", "orthogonal", "sparse(sparsity=0.5)"]


def full_init(spec, dtype=torch.float32):
    return torchinit.init_(torch.empty(FULL, dtype=dtype), spec, seed=11, key="w")


@pytest.mark.parametrize("spec", SPECS)
def test_row_and_column_cuts_assemble_to_the_full_init(spec):
    want = full_init(spec)
    for dim, cuts in [(0, [0, 7, 50, 96]), (1, [0, 33, 34, 80])]:
        parts = []
        for begin, end in zip(cuts, cuts[1:]):
            shape = list(FULL)
            shape[dim] = end - begin
            shard = torch.empty(shape)
            torchinit.init_shard_(shard, spec, FULL, Slice.dim(dim, begin, end), seed=11, key="w")
            parts.append(shard)
        assert torch.equal(torch.cat(parts, dim), want), f"{spec}, cut along dim {dim}"


@pytest.mark.parametrize("spec", SPECS)
def test_box_and_flat_shards_equal_the_full_init(spec):
    want = full_init(spec)
    box = torch.empty(10, 20)
    torchinit.init_shard_(box, spec, FULL, Slice.box([(30, 40), (5, 25)]), seed=11, key="w")
    assert torch.equal(box, want[30:40, 5:25])
    flat = torch.empty(1000)
    torchinit.init_shard_(flat, spec, FULL, Slice.flat(2500, 3500), seed=11, key="w")
    assert torch.equal(flat, want.flatten()[2500:3500])


def test_float64_and_bfloat16_shards():
    for dtype in (torch.float64, torch.bfloat16):
        want = full_init("normal", dtype)
        shard = torch.empty(40, 80, dtype=dtype)
        torchinit.init_shard_(shard, "normal", FULL, Slice.rows(56, 96), seed=11, key="w")
        assert torch.equal(shard, want[56:]), dtype


def test_bad_slices_raise_and_leave_the_shard_unchanged():
    shard = torch.full((10, 80), 3.0)
    for slice, match in [(Slice.rows(90, 100), "96"), (Slice.rows(0, 12), "shape"),
                         (Slice.flat(0, 700), "700"), (Slice.dim(2, 0, 1), "dim")]:
        with pytest.raises(RuntimeError, match=match):
            torchinit.init_shard_(shard, "normal", FULL, slice, seed=1, key="w")
        assert torch.all(shard == 3.0)
    with pytest.raises(TypeError, match="torchinit.Slice"):
        torchinit.init_shard_(shard, "normal", FULL, (0, 10), seed=1)


def test_meta_shard_is_validated_without_data():
    torchinit.init_shard_(torch.empty(10, 80, device="meta"), "normal", FULL, Slice.rows(0, 10))
    with pytest.raises(RuntimeError, match="shape"):
        torchinit.init_shard_(torch.empty(10, 81, device="meta"), "normal", FULL,
                              Slice.rows(0, 10))
