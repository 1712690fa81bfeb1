"""Backend "torch" from Python equals torch.nn.init under the same torch.manual_seed; the CLI
writes the bytes Python's init_ writes for every golden spec; explain/list equal the CLI's JSON.

These are exact (torch.equal / bytes) comparisons: no statistics, no alpha.
"""
import math
import os
import subprocess

import pytest
import torch
from torch import nn

import golden
import torchinit

# (torchinit spec, shape, the torch.nn.init call it must equal)
TORCH_CASES = [
    ("uniform", (64, 33), lambda t: nn.init.uniform_(t)),
    ("uniform(a=-0.3, b=0.2)", (64, 33), lambda t: nn.init.uniform_(t, -0.3, 0.2)),
    ("normal(mean=0.5, std=0.02)", (64, 33), lambda t: nn.init.normal_(t, 0.5, 0.02)),
    # PyTorch 2.12 replaced trunc_normal_'s inverse CDF by rejection (pytorch#174997); the torch
    # backend follows the PyTorch of its LibTorch. [2, 3] holds 2% of N(0, 1): 2.12+'s
    # uniform-rejection branch.
    ("trunc_normal(std=0.02)", (50, 40), lambda t: nn.init.trunc_normal_(t, std=0.02)),
    ("trunc_normal(a=2, b=3)", (50, 40), lambda t: nn.init.trunc_normal_(t, a=2.0, b=3.0)),
    ("constant(val=0.25)", (8, 9), lambda t: nn.init.constant_(t, 0.25)),
    ("eye", (8, 9), nn.init.eye_),
    ("dirac", (8, 4, 3, 3), nn.init.dirac_),
    ("xavier_uniform(gain=1.7)", (64, 33), lambda t: nn.init.xavier_uniform_(t, 1.7)),
    ("xavier_normal", (64, 33), nn.init.xavier_normal_),
    ("kaiming_uniform(a=2.23606797749979)", (64, 33),
     lambda t: nn.init.kaiming_uniform_(t, a=math.sqrt(5))),
    ("kaiming_normal(mode=fan_out, nonlinearity=relu)", (16, 8, 3, 3),
     lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")),
    ("orthogonal(gain=2)", (20, 50), lambda t: nn.init.orthogonal_(t, 2)),
    ("sparse(sparsity=0.3)", (40, 12), lambda t: nn.init.sparse_(t, 0.3)),
]


@pytest.mark.parametrize("spec,shape,reference", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_backend_torch_equals_torch_nn_init(spec, shape, reference, dtype):
    torch.manual_seed(11)
    want = reference(torch.empty(shape, dtype=dtype))
    torch.manual_seed(11)
    got = torchinit.init_(torch.empty(shape, dtype=dtype), spec, backend="torch")
    assert torch.equal(got, want)


def test_plan_with_backend_torch_equals_pytorchs_own_constructor():
    # Linear and Conv2d draw weight then bias in their constructors: torch_default under the torch
    # backend, from the same seed, gives the constructor's values.
    def build():
        return nn.Sequential(nn.Linear(20, 30), nn.Conv2d(3, 8, 3), nn.Linear(30, 5))

    torch.manual_seed(4)
    want = build()
    model = build()
    torch.manual_seed(4)
    torchinit.Plan.preset("torch_default").apply(model, backend="torch")
    for (name, a), (_, b) in zip(want.named_parameters(), model.named_parameters()):
        assert torch.equal(a, b), name


def test_unknown_backend_names_the_choices_and_leaves_the_tensor_unchanged():
    t = torch.full((4, 4), 3.0)
    with pytest.raises(RuntimeError, match='backend must be "philox".*"torch"'):
        torchinit.init_(t, "normal", seed=1, backend="mt19937")
    assert torch.equal(t, torch.full((4, 4), 3.0))


CLI = os.environ.get("TORCHINIT_CLI")
needs_cli = pytest.mark.skipif(not CLI or os.environ.get("TORCHINIT_NO_CLI") == "1",
                               reason="no CLI (ctest sets TORCHINIT_CLI; make test-upstream-ci "
                                      "builds none and sets TORCHINIT_NO_CLI=1; make test does)")
# Every spec of the golden digests at its golden shape in float32 (the golden seed and key, so
# these are the bytes test_ops.py hashes to the committed digests), plus the other dtypes.
CLI_CASES = ([(spec, golden.shape_for(spec), "float32") for spec in golden.initializer_specs()] +
             [("trunc_normal(std=0.02)", (33, 17), "float64"),
              ("xavier_uniform", (16, 8, 3, 3), "bfloat16"),
              ("chrono(t_max=10)", (64,), "float16")])


@needs_cli
@pytest.mark.parametrize("spec,shape,dtype", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_writes_the_bytes_of_python_init(spec, shape, dtype, tmp_path):
    raw = tmp_path / "w.bin"
    run = subprocess.run([CLI, "check", spec, "--shape", ",".join(map(str, shape)), "--seed",
                          "20261129", "--key", "golden.weight", "--dtype", dtype, "--raw", str(raw)],
                         capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr  # 1: the check's verdict, not an error
    t = torchinit.init_(torch.empty(shape, dtype=getattr(torch, dtype)), spec,
                        seed=20261129, key="golden.weight")
    assert raw.read_bytes() == t.contiguous().view(torch.uint8).numpy().tobytes()


@needs_cli
def test_explain_and_list_equal_the_clis_json():
    import json

    def cli_json(*args):
        return json.loads(subprocess.run([CLI, *args, "--json"], check=True, capture_output=True,
                                         text=True).stdout)

    for spec, shape in [("kaiming_normal(mode=fan_out)", (64, 32, 3, 3)), ("orthogonal", (8, 8))]:
        want = cli_json("explain", spec, "--shape", ",".join(map(str, shape)))
        assert torchinit.explain(spec, shape) == want
    assert torchinit.list_initializers() == cli_json("list")


def test_explain_and_list_from_python():
    e = torchinit.explain("kaiming_normal(mode=fan_out)", (64, 32, 3, 3))
    assert e["fan_out"] == 64 * 9 and e["std"] == pytest.approx(math.sqrt(2 / (64 * 9)))
    names = {i["name"] for i in torchinit.list_initializers()}
    assert {"kaiming_normal", "orthogonal", "trunc_normal", "sparse"} <= names
    with pytest.raises(RuntimeError, match="did you mean"):
        torchinit.explain("kaiming_normall", (4, 4))
