"""Plans on Python modules: rules from selectors to specs, resolved by the C++ plan code.

The layouts, fans, roles, stream keys and the write loop are torchinit's C++ ones (the op
library's plan ops), so ``Plan(...).apply(module, seed=s)`` on a Python module gives the bytes
that ``Plan::apply`` gives on the same LibTorch module in C++.
"""
import json
import warnings
from dataclasses import dataclass, field
from typing import List, Optional

import torch

from ._describe import describe_tree


class LayoutWarning(UserWarning):
    """A parameter of a module type torchinit does not know: fans from the tensor convention."""


@dataclass
class ReportRow:
    path: str
    shape: List[int]
    module_type: str
    role: str
    fan_in: int
    fan_out: int
    spec: str
    theory: str
    mean: Optional[float]
    variance: Optional[float]
    key: int
    blocks: int = 1
    aliases: List[str] = field(default_factory=list)
    padding_idx: Optional[int] = None
    note: str = ""


class Report:
    """What a plan did (or would do) to every parameter: the rows of C++'s Report."""

    def __init__(self, data):
        report = data["report"]
        self.seed = report["seed"]
        self.warnings = list(report["warnings"])
        self.rows = [ReportRow(**{k: row[k] for k in ReportRow.__dataclass_fields__ if k in row})
                     for row in report["rows"]]
        self._table = data["table"]
        self._json = report

    def at(self, path):
        """The row of ``path``, its canonical path or one of its aliases (tied weights)."""
        for row in self.rows:
            if row.path == path or path in row.aliases:
                return row
        raise KeyError(f"torchinit.Report: no row for {path!r}")

    def table(self):
        return self._table

    def json(self):
        return json.dumps(self._json, indent=2)

    def __repr__(self):
        return self._table


class Plan:
    """Rules ``selector = spec`` (text, one per line, or JSON) or a preset (Plan.preset)."""

    def __init__(self, rules="", *, _preset="", _layers=0):
        self._rules = rules
        self._preset = _preset
        self._layers = int(_layers)
        # Parsed now, so a malformed rule fails here with its line and column.
        self._json = torch.ops.torchinit.plan_parse(self._rules, self._preset, self._layers)

    @staticmethod
    def preset(name, layers=0):
        """A named preset (Plan.presets()); ``layers`` for the depth-scaled ones (gpt2)."""
        return Plan(_preset=name, _layers=layers)

    @staticmethod
    def presets():
        return list(torch.ops.torchinit.presets())

    def json(self):
        return self._json

    def _args(self):
        return self._rules, self._preset, self._layers

    def explain(self, module, strict=True):
        """The report of apply() without writing any tensor."""
        modules, tensors = describe_tree(module)
        return _report(_op("plan_explain", tensors, modules, *self._args(), strict))

    def apply(self, module, seed=None, strict=True, backend="philox"):
        """Initializes every parameter of ``module`` in place and returns the Report.

        seed=None draws one seed from torch's default generator. The whole plan is validated
        before any tensor is written: on error every parameter is left as it was.
        backend="torch" fills with torch's default generator and torch.nn.init's arithmetic
        (seed is then ignored), parameter by parameter in the report's order.
        """
        modules, tensors = describe_tree(module)
        if not tensors:
            return self.explain(module, strict)
        with torch.no_grad():
            data = _op("plan_apply_", tensors, modules, *self._args(), seed, strict,
                                                       backend)
        return _report(data)

    def apply_sharded(self, module, shards, seed=None, strict=True):
        """Plan.apply for a module whose parameters are shards: ``shards`` maps parameter paths
        to ``(full_shape, torchinit.Slice)``, and each such parameter holds that slice of its
        full parameter. Fans, roles, gate blocks and stream keys come from the full parameters,
        so every rank's shards get exactly the bytes apply() gives the full model; parameters
        not in ``shards`` are held whole. The module's hyperparameters (in_features, hidden
        size, ...) must be the full model's. Give every rank the same seed.
        """
        from .shard import Slice

        modules, tensors = describe_tree(module)
        description = json.loads(modules)
        encoded = {}
        for path, (full_shape, slice) in shards.items():
            if not isinstance(slice, Slice):
                raise TypeError(f"torchinit.Plan.apply_sharded: shards[{path!r}] must be "
                                "(full_shape, torchinit.Slice)")
            encoded[path] = {"full_shape": [int(n) for n in full_shape],
                             "slice": slice._encoded, "flat": slice._flat}
        for param in description["params"]:  # described with the full shapes
            if param["path"] in encoded:
                param["shape"] = encoded[param["path"]]["full_shape"]
        with torch.no_grad():
            data = _op("plan_apply_", tensors, json.dumps(description), *self._args(), seed,
                       strict, "philox", json.dumps(encoded))
        return _report(data)

    def check(self, module, alpha=1e-6, strict=True):
        """Every parameter against its row's theory, family-wise at ``alpha`` (a dict)."""
        modules, tensors = describe_tree(module)
        return json.loads(_op("plan_check", tensors, modules, *self._args(),
                                                         float(alpha), strict))


# C++'s advice in errors, as a Python caller writes it.
_PYTHON_WORDING = [("ApplyOptions().strict(false)", "strict=False")]


def _op(name, *args):
    """Calls a plan op; its C++-worded advice in an error is reworded for Python."""
    try:
        return getattr(torch.ops.torchinit, name)(*args)
    except RuntimeError as e:
        text = str(e)
        for cpp, python in _PYTHON_WORDING:
            text = text.replace(cpp, python)
        if text == str(e):
            raise
        raise RuntimeError(text) from None


def _report(text):
    report = Report(json.loads(text))
    for note in dict.fromkeys(row.note for row in report.rows if row.note):
        warnings.warn(note + "; from Python: torchinit.register_layout(YourModule, describe)",
                      LayoutWarning, stacklevel=3)
    return report
