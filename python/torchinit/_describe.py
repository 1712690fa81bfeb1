"""What a Python module is, as the C++ layout rules need it (module_desc.h, module_desc_json.h).

The rules themselves (roles, fans, gate blocks, LibTorch defaults) exist once, in C++: this file
only reads each module's type and hyperparameters and walks the tree in the order C++ walks a
torch::nn::Module (a module's own parameters, then its children), every path of a tied tensor
included. A type that is neither one of PyTorch's known layers nor registered with
register_layout() is described by its class name alone; C++ then falls back to the plain tensor
convention and says so in the report's note.
"""
import json

from torch import nn

_layouts = []  # (class, function) pairs from register_layout, newest first


def register_layout(cls, describe):
    """Declares the layout of a module class of your own (and its subclasses).

    ``describe(module)`` returns a dict with ModuleDesc's fields: at least ``type``, and usually
    ``params``: {parameter name: {"role": "weight" | "bias" | ..., "torch_default": spec,
    "module_fans": [fan_in, fan_out] | None, "layout": {"out_dim", "in_dim", "groups",
    "transposed", "blocks"}}}. Checked before PyTorch's own types, like C++'s LayoutRegistry.
    """
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        raise TypeError(f"torchinit.register_layout: {cls!r} is not a torch.nn.Module class")
    if not callable(describe):
        raise TypeError("torchinit.register_layout: describe must be callable(module) -> dict")
    _layouts.insert(0, (cls, describe))


def _conv(m, name, transposed):
    return {"type": name, "in_features": m.in_channels, "out_features": m.out_channels,
            "kernel_size": list(m.kernel_size), "groups": m.groups, "transposed": transposed}


def _rnn(m, name):
    return {"type": name, "in_features": m.input_size, "hidden_size": m.hidden_size,
            "num_layers": m.num_layers, "bidirectional": bool(m.bidirectional),
            "proj_size": int(getattr(m, "proj_size", 0))}


def _embedding(m, name):
    return {"type": name, "num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim,
            "padding_idx": m.padding_idx}


def _mha(m):
    return {"type": "MultiheadAttention", "embed_dim": m.embed_dim, "num_heads": m.num_heads,
            "kdim": m.kdim, "vdim": m.vdim, "bias": m.in_proj_bias is not None,
            "add_bias_kv": m.bias_k is not None}


# PyTorch's types with the C++ type names (LibTorch's classes), in the order C++ tries them.
_KNOWN = [
    (nn.Linear, lambda m: {"type": "Linear", "in_features": m.in_features,
                           "out_features": m.out_features}),
    (nn.Bilinear, lambda m: {"type": "Bilinear", "in_features": m.in1_features,
                             "in2_features": m.in2_features, "out_features": m.out_features}),
    (nn.Conv1d, lambda m: _conv(m, "Conv1d", False)),
    (nn.Conv2d, lambda m: _conv(m, "Conv2d", False)),
    (nn.Conv3d, lambda m: _conv(m, "Conv3d", False)),
    (nn.ConvTranspose1d, lambda m: _conv(m, "ConvTranspose1d", True)),
    (nn.ConvTranspose2d, lambda m: _conv(m, "ConvTranspose2d", True)),
    (nn.ConvTranspose3d, lambda m: _conv(m, "ConvTranspose3d", True)),
    (nn.Embedding, lambda m: _embedding(m, "Embedding")),
    (nn.EmbeddingBag, lambda m: _embedding(m, "EmbeddingBag")),
    (nn.BatchNorm1d, lambda m: {"type": "BatchNorm1d"}),
    (nn.BatchNorm2d, lambda m: {"type": "BatchNorm2d"}),
    (nn.BatchNorm3d, lambda m: {"type": "BatchNorm3d"}),
    (nn.InstanceNorm1d, lambda m: {"type": "InstanceNorm1d"}),
    (nn.InstanceNorm2d, lambda m: {"type": "InstanceNorm2d"}),
    (nn.InstanceNorm3d, lambda m: {"type": "InstanceNorm3d"}),
    (nn.LayerNorm, lambda m: {"type": "LayerNorm"}),
    (nn.GroupNorm, lambda m: {"type": "GroupNorm"}),
    # PyTorch 1.13 keeps no `init` attribute: its default slope is assumed (0.25).
    (nn.PReLU, lambda m: {"type": "PReLU", "num_parameters": m.num_parameters,
                          "init": float(getattr(m, "init", 0.25))}),
    (nn.RNN, lambda m: _rnn(m, "RNN")),
    (nn.LSTM, lambda m: _rnn(m, "LSTM")),
    (nn.GRU, lambda m: _rnn(m, "GRU")),
    (nn.RNNCell, lambda m: {"type": "RNNCell", "in_features": m.input_size,
                            "hidden_size": m.hidden_size}),
    (nn.LSTMCell, lambda m: {"type": "LSTMCell", "in_features": m.input_size,
                             "hidden_size": m.hidden_size}),
    (nn.GRUCell, lambda m: {"type": "GRUCell", "in_features": m.input_size,
                            "hidden_size": m.hidden_size}),
    (nn.MultiheadAttention, _mha),
    (nn.Transformer, lambda m: {"type": "Transformer"}),
    (nn.ParameterList, lambda m: {"type": "ParameterList"}),
    (nn.ParameterDict, lambda m: {"type": "ParameterDict"}),
]


def describe_module(module):
    """The ModuleDesc fields of ``module`` (without its position in the tree)."""
    class_name = type(module).__name__
    for cls, describe in _layouts:
        if isinstance(module, cls):
            desc = dict(describe(module))
            if "type" not in desc:
                desc["type"] = class_name
            break
    else:
        desc = next((dict(describe(module)) for cls, describe in _KNOWN
                     if isinstance(module, cls)), {"type": class_name})
    desc.setdefault("class_name", class_name)
    return desc


def describe_tree(root):
    """(JSON for the op library, tensors in the same order) of every parameter path of ``root``."""
    if not isinstance(root, nn.Module):
        raise TypeError(f"torchinit: expected a torch.nn.Module, got {type(root).__name__}")
    modules, params, tensors = [], [], []

    def walk(module, prefix, attribute, ancestors):
        desc = describe_module(module)
        desc["ancestor_types"] = list(ancestors)
        desc["attribute"] = attribute
        index = len(modules)
        modules.append(desc)
        for name, p in module._parameters.items():
            if p is None:
                continue
            path = f"{prefix}.{name}" if prefix else name
            if isinstance(p, nn.parameter.UninitializedParameter):
                raise ValueError(
                    f"torchinit: {path} is an uninitialized parameter of a lazy module; run one "
                    "forward pass first so that its shape is known")
            params.append({"path": path, "name": name, "module": index, "shape": list(p.shape)})
            tensors.append(p)
        for name, child in module._modules.items():
            if child is not None:
                walk(child, f"{prefix}.{name}" if prefix else name, name,
                     ancestors + [desc["type"]])

    walk(root, "", "", [])
    return json.dumps({"modules": modules, "params": params}), tensors
