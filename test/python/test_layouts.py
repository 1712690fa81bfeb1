"""Every layout of PyTorch's layers, from Python, has the bytes C++ gives LibTorch's layers.

LayoutZoo is test/golden/golden_test.cpp's LayoutZooImpl written a second time in Python (the
same children, hyperparameters and tied weight). The C++ golden test pins Plan::apply on it in
test/golden/layouts.txt, one digest per child and preset; Plan.apply on the Python zoo must
give every one of them. This covers the issue's MultiheadAttention model (fused in_proj_weight,
separate q/k/v weights with kdim/vdim and bias_k/bias_v, no bias) next to the LSTM of
test_plans.py, and every other layout family: conv groups and transposition, gates, proj_size,
bidirectional, cells, embeddings with a padding row, norms and PReLU.
"""
import hashlib
import json

import pytest
import torch
from torch import nn

import golden
import torchinit
from torchinit._describe import describe_tree


class LayoutZoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 5)
        self.bil = nn.Bilinear(3, 4, 5)
        self.c1 = nn.Conv1d(4, 6, 3, groups=2)
        self.c3 = nn.Conv3d(2, 4, 2)
        self.ct1 = nn.ConvTranspose1d(4, 6, 3)
        self.ct2 = nn.ConvTranspose2d(8, 16, 3, groups=2)
        self.emb = nn.Embedding(10, 4, padding_idx=3)
        self.bag = nn.EmbeddingBag(12, 4)
        self.bn = nn.BatchNorm2d(5)
        self.inorm = nn.InstanceNorm2d(5, affine=True)
        self.ln = nn.LayerNorm(6)
        self.gn = nn.GroupNorm(2, 6)
        self.prelu = nn.PReLU(3)
        self.rnn = nn.RNN(4, 8, num_layers=2)
        self.lstm = nn.LSTM(4, 8, num_layers=2, bidirectional=True, proj_size=3)
        self.gru = nn.GRU(4, 8, bidirectional=True)
        self.rcell = nn.RNNCell(4, 8)
        self.lcell = nn.LSTMCell(4, 8)
        self.gcell = nn.GRUCell(4, 8)
        self.mha = nn.MultiheadAttention(16, 4)
        self.mha_kv = nn.MultiheadAttention(16, 4, kdim=6, vdim=10, add_bias_kv=True)
        self.mha_nb = nn.MultiheadAttention(8, 2, bias=False)
        self.dec = nn.Linear(4, 10, bias=False)
        self.dec.weight = self.emb.weight  # tied


def golden_layouts():
    """(child, preset text, digest) of every layouts.txt line for this LAPACK."""
    return [(fields[0][len("zoo."):], fields[1][len("preset "):], digest)
            for fields, digest in golden.digests("layouts.txt")]


def plan_of(preset):
    if preset.endswith(")"):  # gpt2(layers=2)
        name, layers = preset[:-1].split("(layers=")
        return torchinit.Plan.preset(name, int(layers))
    return torchinit.Plan.preset(preset)


def child_digests(zoo):
    """SHA-256 per child as golden_test.cpp's layout_digests: every path (tied ones too), in the
    C++ walk's order, with dtype name, sizes and bytes."""
    modules, tensors = describe_tree(zoo)
    hashes = {}
    for param, t in zip(json.loads(modules)["params"], tensors):
        child = param["path"].split(".")[0]
        h = hashes.setdefault(child, hashlib.sha256())
        t = t.detach().contiguous()
        h.update(param["path"].encode())
        h.update({torch.float32: b"Float", torch.float64: b"Double"}[t.dtype])
        h.update("".join(f"{s}," for s in t.shape).encode())
        h.update(t.numpy().tobytes())
    return {child: h.hexdigest() for child, h in hashes.items()}


def test_every_child_and_preset_is_pinned():
    cases = golden_layouts()
    children = {name for name, _ in LayoutZoo().named_children()}
    assert {child for child, _, _ in cases} == children
    assert {preset for _, preset, _ in cases} == {"torch_default", "he", "xavier",
                                                  "gpt2(layers=2)"}


@pytest.mark.parametrize("preset", ["torch_default", "he", "xavier", "gpt2(layers=2)"])
def test_plan_apply_gives_the_cpp_bytes_for_every_layout(preset):
    zoo = LayoutZoo()
    plan_of(preset).apply(zoo, seed=7, strict=False)
    got = child_digests(zoo)
    want = {child: digest for child, p, digest in golden_layouts() if p == preset}
    mismatched = sorted(child for child in want if got.get(child) != want[child])
    assert not mismatched, f"children whose bytes differ from C++ under {preset}: {mismatched}"


def test_multihead_attention_rows():
    zoo = LayoutZoo()
    report = torchinit.Plan.preset("torch_default").apply(zoo, seed=7, strict=False)
    fused = report.at("mha.in_proj_weight")
    assert fused.blocks == 3 and (fused.fan_in, fused.fan_out) == (16, 16)
    assert report.at("mha_kv.k_proj_weight").fan_in == 6
    assert report.at("mha_kv.v_proj_weight").fan_in == 10
    assert report.at("mha_kv.bias_k").role and report.at("mha_kv.bias_v").role
    paths = [row.path for row in report.rows]
    assert not any(p.startswith("mha_nb.in_proj_bias") or p == "mha_nb.out_proj.bias"
                   for p in paths)
    assert torchinit.Plan.preset("torch_default").check(zoo, strict=False)["passed"]
    with pytest.raises(RuntimeError, match="strict=False"):  # the C++ advice, in Python words
        torchinit.Plan.preset("torch_default").apply(LayoutZoo(), seed=7)
