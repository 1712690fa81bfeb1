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


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(20, 8, padding_idx=3)
        self.lstm = torch.nn.LSTM(8, 16, num_layers=2)
        self.head = torch.nn.Linear(16, 5)


def cut(n, rank, world=3):
    """Uneven row ranges of [0, n) for `world` ranks."""
    points = [0, n // 5 + 1, n // 5 + 1 + (n + 1) // 2, n]
    return points[rank], points[rank + 1]


@pytest.mark.parametrize("preset", ["he", "torch_default"])
def test_plan_apply_sharded_gives_every_rank_its_rows_of_apply(preset):
    # Row cuts that cross the LSTM's gate blocks (4 x 16 rows) and the embedding's padding row.
    full = Net()
    torchinit.Plan.preset(preset).apply(full, seed=7)
    want = dict(full.named_parameters())
    for rank in range(3):
        model, shards = Net(), {}
        for path, p in list(model.named_parameters()):
            begin, end = cut(p.shape[0], rank)
            owner = model.get_submodule(path.rpartition(".")[0]) if "." in path else model
            setattr(owner, path.rpartition(".")[2],
                    torch.nn.Parameter(torch.empty(end - begin, *p.shape[1:])))
            shards[path] = (tuple(p.shape), Slice.rows(begin, end))
        report = torchinit.Plan.preset(preset).apply_sharded(model, shards, seed=7)
        assert report.seed == 7
        for path, p in model.named_parameters():
            begin, end = cut(want[path].shape[0], rank)
            assert torch.equal(p, want[path][begin:end]), f"rank {rank}: {path}"


def test_plan_apply_sharded_errors_name_the_path_and_write_nothing():
    model = Net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError, match="head.wieght.*did you mean 'head.weight'"):
        torchinit.Plan.preset("he").apply_sharded(model, {"head.wieght": ((5, 16), Slice.all())},
                                                 seed=1)
    with pytest.raises(RuntimeError, match="head.weight has shape"):
        torchinit.Plan.preset("he").apply_sharded(
            model, {"head.weight": ((5, 16), Slice.rows(0, 2))}, seed=1)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_plan_apply_sharded_on_meta_resolves_from_the_full_shapes():
    layer = torch.nn.Linear(16, 8, device="meta")
    layer.weight = torch.nn.Parameter(torch.empty(3, 16, device="meta"))  # rows [0, 3) of [8, 16]
    report = torchinit.Plan.preset("he").apply_sharded(
        layer, {"weight": ((8, 16), Slice.rows(0, 3))}, seed=1)
    row = report.at("weight")
    assert row.shape == [8, 16] and (row.fan_in, row.fan_out) == (16, 8)
