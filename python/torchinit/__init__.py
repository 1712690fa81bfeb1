"""torchinit for PyTorch: named, deterministic, theory-checked initialization.

The ops live in the C++ op library ``libtorchinit_ops.so`` (next to this file when installed, or
named by the environment variable TORCHINIT_OPS_LIBRARY), so a tensor gets the same bytes as
``torchinit::init_`` in C++ for the same (spec, seed, key, shape, dtype).

    import torch, torchinit
    w = torch.empty(256, 128)
    torchinit.init_(w, "kaiming_normal(mode=fan_out)", seed=7, key="fc1.weight")
    torchinit.theory("kaiming_normal(mode=fan_out)", w.shape).std
    torchinit.check(w, "kaiming_normal(mode=fan_out)").passed
"""
import json
import math
import os

import torch

__all__ = ["init_", "theory", "check", "Theory", "CheckResult", "assert_matches_theory", "Plan",
           "Report", "ReportRow", "LayoutWarning", "register_layout", "describe_module", "Slice",
           "init_shard_", "explain", "list_initializers", "check_sharded"]


def _load():
    path = os.environ.get("TORCHINIT_OPS_LIBRARY") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "libtorchinit_ops.so")
    if not os.path.exists(path):
        raise ImportError(
            f"torchinit: op library not found at {path}; build it (make test builds "
            "build/<preset>/src/ops/libtorchinit_ops.so) and set TORCHINIT_OPS_LIBRARY, or "
            "install torchinit")
    torch.ops.load_library(path)


_load()

from ._describe import describe_module, register_layout  # noqa: E402 (needs the ops)
from .plan import LayoutWarning, Plan, Report, ReportRow  # noqa: E402
from .shard import Slice, init_shard_  # noqa: E402
from .distributed import check_sharded  # noqa: E402


def init_(tensor, spec, seed=None, key="", backend="philox"):
    """Fills ``tensor`` in place by ``spec`` and returns it (as torchinit::init_ in C++).

    seed=None draws the stream seed from torch's default generator, so torch.manual_seed(n)
    makes a program reproducible; key is normally the parameter's path ("fc1.weight"). Works on
    leaf Parameters that require grad (no autograd history is recorded). On bad input it raises
    RuntimeError naming the initializer, the shape and the fix, and leaves the tensor unchanged.

    backend="torch" draws from torch's default generator with torch.nn.init's arithmetic
    instead of torchinit's streams (seed and key are then ignored): the same values as the
    matching torch.nn.init function under the same torch.manual_seed.
    """
    with torch.no_grad():
        return torch.ops.torchinit.init_(tensor, spec, seed, key, backend)


class Theory:
    """The distribution a spec promises for one element: family, mean, variance, std, params."""

    def __init__(self, data):
        self.family = data["family"]
        self.text = data["text"]
        self.mean = _number(data["mean"])
        self.variance = _number(data["variance"])
        self.std = _number(data["std"])
        self.params = {k: _number(v) for k, v in data["params"].items()}

    def __repr__(self):
        return f"Theory({self.text})"


def theory(spec, shape):
    """The distribution ``spec`` promises for a tensor of ``shape`` (PyTorch's fan convention)."""
    return Theory(json.loads(torch.ops.torchinit.theory(spec, [int(s) for s in shape])))


class CheckResult:
    """A tensor checked against a theory: passed, inconclusive, statistics (dicts), summary."""

    def __init__(self, data):
        self.data = data
        self.passed = data["passed"]
        self.inconclusive = data["inconclusive"]
        self.theory = data["theory"]
        self.n = data["n"]
        self.alpha = data["alpha"]
        self.statistics = data["statistics"]

    def summary(self):
        verdict = "PASS" if self.passed else "INCONCLUSIVE" if self.inconclusive else "FAIL"
        details = "; ".join(s["detail"] for s in self.statistics)
        return f"{verdict} {self.theory} n={self.n} alpha={self.alpha:.3g}; {details}"

    def __repr__(self):
        return f"CheckResult({self.summary()})"


def check(tensor, spec, alpha=1e-6):
    """Checks ``tensor`` against the theory of ``spec`` for its shape, at false-alarm rate alpha."""
    return CheckResult(json.loads(torch.ops.torchinit.check(tensor, spec, float(alpha))))


def explain(spec, shape):
    """What ``spec`` gives a tensor of ``shape``: fans, gain, distribution and moments (a dict,
    the JSON of ``torchinit explain SPEC --shape ... --json``)."""
    return json.loads(torch.ops.torchinit.explain(spec, [int(s) for s in shape]))


def list_initializers():
    """Every registered initializer with its aliases, arguments, formula and paper (a list of
    dicts, the JSON of ``torchinit list --json``)."""
    return json.loads(torch.ops.torchinit.initializers())


def assert_matches_theory(tensor, spec, alpha=1e-6):
    """pytest helper: fails with the check's summary unless ``tensor`` passes against ``spec``."""
    result = check(tensor, spec, alpha)
    assert result.passed, result.summary()


def _number(x):
    return math.nan if x is None else float(x)
