"""Plans on Python modules (torchinit.Plan): the C++ layout rules, keys and write loop, reached
through the op library, give Python's torch.nn modules the bytes C++ gives LibTorch's.

The models below are written a second time, in Python, with the parameter paths, order, types
and hyperparameters of torchinit's C++ models (src/nn/*.cpp, the examples of
nn::ModelRegistry). The C++ golden test pins Plan::apply on those models in
test/golden/models.txt; here the same digests must come out of Plan.apply on the Python models.
Statistical checks use fixed seeds and alpha = 1e-6 (family-wise over the parameters).
"""
import hashlib
import math
import warnings

import pytest
import torch
from torch import nn

import golden
import torchinit

class MLP(nn.Module):  # mlp(in=784, hidden=[256, 256], out=10, act=relu), src/nn/mlp.cpp
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
                                    nn.ReLU(), nn.Linear(256, 10))


class ConvNet(nn.Module):  # convnet(in=3, channels=[32, 64], convs=2, classes=10, dims=2)
    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for stage, cout in enumerate([32, 64]):
            if stage > 0:
                layers.append(nn.MaxPool2d(2))
            for _ in range(2):
                layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                           nn.ReLU()]
                cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(64, 10)


class RecurrentNet(nn.Module):  # rnn|lstm|gru(in=32, hidden=64, layers=2, out=10)
    def __init__(self, kind):
        super().__init__()
        cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        setattr(self, kind, cell(32, 64, num_layers=2, batch_first=True))
        self.head = nn.Linear(64, 10)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))


class ResNet(nn.Module):  # resnet(depth=18, classes=10, stem=cifar), src/nn/resnet.cpp
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin = 64
        for i, cout in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}",
                    nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.fc = nn.Linear(512, 10)


class Projection(nn.Module):
    """torchinit::nn::Projection (src/nn/projection.cpp): a Linear that declares its role."""

    def __init__(self, cin, cout, bias=True, role="weight", blocks=1):
        super().__init__()
        self.cin, self.cout, self.role, self.blocks = cin, cout, role, blocks
        self.weight = nn.Parameter(torch.empty(cout, cin))
        self.bias = nn.Parameter(torch.empty(cout)) if bias else None


def projection_layout(m):
    """The layout C++ declares for Projection, declared here with torchinit.register_layout."""
    bound = 1 / math.sqrt(m.cin)
    return {"type": "Projection",
            "params": {"weight": {"role": m.role,
                                  "torch_default": "kaiming_uniform(a=2.23606797749979)",
                                  "layout": {"blocks": m.blocks}},
                       "bias": {"role": "bias", "torch_default": f"uniform(a={-bound}, b={bound})",
                                "module_fans": [m.cin, m.cout // m.blocks]}}}


torchinit.register_layout(Projection, projection_layout)


class SelfAttention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.qkv = Projection(d, 3 * d, blocks=3)
        self.proj = Projection(d, d, role="residual_out")


class FeedForward(nn.Module):
    def __init__(self, d, ratio=4):
        super().__init__()
        self.fc1 = Projection(d, ratio * d)
        self.fc2 = Projection(ratio * d, d, role="residual_out")


class TransformerBlock(nn.Module):  # src/nn/transformer_block.cpp
    def __init__(self, d):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = SelfAttention(d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = FeedForward(d)


class GPT(nn.Module):  # gpt(vocab=96, context=32, width=64, depth=2, heads=4), src/nn/gpt.cpp
    def __init__(self):
        super().__init__()
        self.tok_emb = nn.Embedding(96, 64)
        self.pos_emb = nn.Embedding(32, 64)
        self.layers = nn.Sequential(TransformerBlock(64), TransformerBlock(64))
        self.norm = nn.LayerNorm(64)
        self.head = Projection(64, 96, bias=False, role="readout")


class ViT(nn.Module):  # vit(classes=10, width=64, depth=2, heads=4), src/nn/vit.cpp
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(1, 64, 4, stride=4)
        self.pos_emb = nn.Embedding(49, 64)
        self.layers = nn.Sequential(TransformerBlock(64), TransformerBlock(64))
        self.norm = nn.LayerNorm(64)
        self.head = Projection(64, 10, role="readout")


MODELS = {
    "mlp(in=784, hidden=[256, 256], out=10, act=relu)": MLP,
    "convnet(in=3, channels=[32, 64], convs=2, classes=10, dims=2)": ConvNet,
    "rnn(in=32, hidden=64, layers=2, out=10)": lambda: RecurrentNet("rnn"),
    "lstm(in=32, hidden=64, layers=2, out=10)": lambda: RecurrentNet("lstm"),
    "gru(in=32, hidden=64, layers=2, out=10)": lambda: RecurrentNet("gru"),
    "resnet(depth=18, classes=10, stem=cifar)": ResNet,
    "gpt(vocab=96, context=32, width=64, depth=2, heads=4)": GPT,
    "vit(classes=10, width=64, depth=2, heads=4)": ViT,
}


def golden_models():
    """(model spec, preset, digest) of every line of models.txt for this LAPACK."""
    return [(fields[0], fields[1][len("preset "):], digest)
            for fields, digest in golden.digests("models.txt")]


def model_digest(module):
    """SHA-256 as golden_test.cpp's model_digests: each path, dtype name, sizes, bytes."""
    h = hashlib.sha256()
    for name, p in module.named_parameters():
        t = p.detach().contiguous()
        h.update(name.encode())
        h.update({torch.float32: b"Float", torch.float64: b"Double"}[t.dtype])
        h.update("".join(f"{s}," for s in t.shape).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def test_every_golden_model_has_a_python_twin():
    cases = golden_models()
    assert len(cases) >= 14
    assert {spec for spec, _, _ in cases} == set(MODELS)


@pytest.mark.parametrize("spec,preset,digest", golden_models(),
                         ids=[f"{s.split('(')[0]}-{p}" for s, p, _ in golden_models()])
def test_plan_apply_gives_the_cpp_bytes(spec, preset, digest):
    model = MODELS[spec]()
    name, _, layers = preset.rstrip(")").partition("(layers=")  # "gpt2(layers=2)"
    report = torchinit.Plan.preset(name, int(layers or 0)).apply(model, seed=7)
    assert report.seed == 7
    assert model_digest(model) == digest, f"{spec} | preset {preset}: bytes differ from C++"


def test_report_rows_carry_roles_fans_and_gate_blocks():
    report = torchinit.Plan.preset("orthogonal_rnn").explain(RecurrentNet("lstm"))
    row = report.at("lstm.weight_hh_l0")
    assert (row.module_type, row.role, row.blocks) == ("LSTM", "recurrent", 4)
    assert (row.fan_in, row.fan_out) == (64, 64)  # one gate block, not the 256-row stack
    assert row.spec.startswith("orthogonal")
    assert report.at("head.bias").role == "bias"
    assert "lstm.weight_ih_l0" in report.table()


def test_seed_none_follows_torch_manual_seed():
    a, b = MLP(), MLP()
    torch.manual_seed(3)
    ra = torchinit.Plan.preset("he").apply(a)
    torch.manual_seed(3)
    rb = torchinit.Plan.preset("he").apply(b)
    assert ra.seed == rb.seed
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def test_applied_model_passes_its_check_and_a_scaled_one_fails():
    model = ConvNet()
    plan = torchinit.Plan.preset("he")
    plan.apply(model, seed=11)
    assert plan.check(model, alpha=1e-6)["passed"]
    with torch.no_grad():
        model.features[0].weight.mul_(2)  # twice the std: far outside the theory
    assert not plan.check(model, alpha=1e-6)["passed"]


def test_rules_text_with_class_path_and_role_selectors():
    plan = torchinit.Plan("layers.4.weight = zeros\n@Linear.weight = normal(std=0.01)\n"
                          ":bias = constant(val=0.5)")
    model = MLP()
    report = plan.apply(model, seed=1)
    assert torch.all(model.layers[0].bias == 0.5)
    assert torch.all(model.layers[4].weight == 0)
    torchinit.assert_matches_theory(model.layers[0].weight, "normal(std=0.01)")  # n = 200704
    assert report.at("layers.2.weight").spec == "normal(mean=0, std=0.01)"


def test_tied_weights_get_one_row_and_one_set_of_bytes():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.dec = nn.Linear(4, 10, bias=False)
            self.dec.weight = self.emb.weight

    model = Tied()
    report = torchinit.Plan("* = normal(std=0.02)").apply(model, seed=5)
    row = report.at("dec.weight")
    assert row.path == "emb.weight" and row.aliases == ["dec.weight"]
    assert len(report.rows) == 1


def test_fused_qkv_of_multihead_attention_is_three_blocks():
    report = torchinit.Plan.preset("xavier").explain(nn.MultiheadAttention(16, 4))
    row = report.at("in_proj_weight")
    assert row.blocks == 3 and (row.fan_in, row.fan_out) == (16, 16)
    assert report.at("out_proj.bias").role == "bias"


def test_unknown_module_type_falls_back_with_a_warning():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(8, 6))

    with pytest.warns(torchinit.LayoutWarning, match="Scale"):
        report = torchinit.Plan("* = xavier_uniform").apply(Scale(), seed=1)
    row = report.at("weight")
    assert (row.fan_in, row.fan_out) == (6, 8)  # the tensor convention
    assert row.note


def test_registered_layout_replaces_the_fallback():
    class Transposed(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(6, 8))  # [in, out]

    torchinit.register_layout(Transposed, lambda m: {
        "type": "Transposed",
        "params": {"weight": {"role": "weight", "layout": {"out_dim": 1, "in_dim": 0}}}})
    with warnings.catch_warnings():
        warnings.simplefilter("error", torchinit.LayoutWarning)
        report = torchinit.Plan("* = xavier_uniform").explain(Transposed())
    row = report.at("weight")
    assert (row.fan_in, row.fan_out) == (6, 8) and row.note == ""


def test_bad_plan_fails_before_any_tensor_is_written():
    model = MLP()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(RuntimeError, match="line 2"):
        torchinit.Plan("* = normal\n:bias = nomral")
    with pytest.raises(RuntimeError, match="no rule matches 3 parameter.*layers.4.bias"):
        torchinit.Plan(":weight = normal").apply(model)  # strict: the biases match no rule
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_lazy_module_asks_for_a_forward_pass():
    with pytest.raises(ValueError, match="forward pass"):
        torchinit.Plan("* = normal").apply(nn.LazyLinear(4))


def test_presets_are_the_cpp_presets():
    assert {"torch_default", "he", "xavier", "resnet", "gpt2"} <= set(torchinit.Plan.presets())
    with pytest.raises(RuntimeError, match="layers"):
        torchinit.Plan.preset("gpt2")


def test_meta_module_is_resolved_without_data():
    model = nn.Linear(64, 32, device="meta")
    report = torchinit.Plan.preset("he").apply(model, seed=1)
    assert [row.path for row in report.rows] == ["weight", "bias"]
    assert report.at("weight").fan_in == 64
    with pytest.raises(RuntimeError, match="no rule matches"):
        torchinit.Plan(":bias = zeros").apply(model)
