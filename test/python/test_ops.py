"""torchinit's op library from Python (Debian's python3-torch 1.13, or upstream torch 2.x).

Bitwise identity with C++ is tested against the committed golden digests (test/golden), which
the C++ golden test checks on the same LibTorch: same SHA-256 = same bytes as torchinit::init_.
Statistical checks use fixed seeds; alpha is stated at each.
"""
import hashlib
import math

import pytest
import torch

import golden
import torchinit

DTYPES = {"Float": torch.float32, "Double": torch.float64}


def golden_cases():
    """(spec, dtype name, digest) of every initializer digest this LibTorch computes."""
    return [(fields[0], fields[1], digest) for fields, digest in golden.digests("initializers.txt")]


def digest(t):
    """SHA-256 as test/golden/golden_test.cpp: dtype name, sizes with commas, row-major bytes."""
    name = next(n for n, dtype in DTYPES.items() if dtype == t.dtype)
    h = hashlib.sha256(name.encode() + "".join(f"{s}," for s in t.shape).encode())
    h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def test_golden_cases_cover_every_family():
    specs = {spec for spec, _, _ in golden_cases()}
    assert len(golden_cases()) >= 50, "fewer golden cases than the C++ test computes"
    assert {"normal", "kaiming_uniform", "orthogonal", "sparse(sparsity=0.5)"} <= specs


@pytest.mark.parametrize("spec,dtype,want", golden_cases())
def test_init_has_the_cpp_bytes(spec, dtype, want):
    t = torch.empty(golden.shape_for(spec), dtype=DTYPES[dtype])
    torchinit.init_(t, spec, seed=20261129, key="golden.weight")
    assert digest(t) == want


def test_seed_none_draws_from_torchs_default_generator():
    a, b, c = (torch.empty(64, 32) for _ in range(3))
    torch.manual_seed(5)
    torchinit.init_(a, "normal")
    torch.manual_seed(5)
    torchinit.init_(b, "normal")
    torch.manual_seed(6)
    torchinit.init_(c, "normal")
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_keys_give_independent_streams():
    a, b = torch.empty(64, 32), torch.empty(64, 32)
    torchinit.init_(a, "normal", seed=1, key="fc1.weight")
    torchinit.init_(b, "normal", seed=1, key="fc2.weight")
    assert not torch.equal(a, b)


def test_leaf_parameter_that_requires_grad():
    layer = torch.nn.Linear(128, 64)
    out = torchinit.init_(layer.weight, "xavier_uniform", seed=3, key="weight")
    assert out.data_ptr() == layer.weight.data_ptr()  # in place
    assert layer.weight.requires_grad and layer.weight.grad_fn is None
    bound = math.sqrt(6 / (128 + 64))
    assert layer.weight.abs().max().item() <= bound


def test_theory_values():
    d = torchinit.theory("kaiming_normal", (256, 128))
    assert d.family == "normal"
    assert d.mean == 0
    assert d.std == pytest.approx(math.sqrt(2 / 128), rel=1e-12)
    u = torchinit.theory("uniform(a=-2, b=3)", (10,))
    assert u.params == {"a": -2.0, "b": 3.0}
    assert u.variance == pytest.approx(25 / 12, rel=1e-12)


def test_check_accepts_the_spec_and_rejects_a_wrong_scale():
    # alpha = 1e-6 per check: a correct tensor fails with probability 1e-6; a tensor with twice
    # the std (four times the variance, n = 65536) is rejected with power ~1.
    w = torch.empty(256, 256)
    torchinit.init_(w, "kaiming_normal", seed=11, key="w")
    assert torchinit.check(w, "kaiming_normal", alpha=1e-6).passed
    torchinit.assert_matches_theory(w, "kaiming_normal")
    wrong = torchinit.check(w * 2, "kaiming_normal", alpha=1e-6)
    assert not wrong.passed and not wrong.inconclusive
    with pytest.raises(AssertionError, match="FAIL"):
        torchinit.assert_matches_theory(w * 2, "kaiming_normal")


def test_bad_input_raises_and_leaves_the_tensor_unchanged():
    t = torch.full((4,), 7.0)
    with pytest.raises(RuntimeError, match="xavier_uniform"):
        torchinit.init_(t, "xavier_uniform", seed=1)  # a 1-D tensor has no fan_in/fan_out
    assert torch.equal(t, torch.full((4,), 7.0))
    with pytest.raises(RuntimeError, match="bogus"):
        torchinit.init_(t, "bogus_init", seed=1)
    with pytest.raises(RuntimeError, match="seed must be >= 0"):
        torchinit.init_(t, "normal", seed=-1)
    assert torch.equal(t, torch.full((4,), 7.0))


def test_spec_errors_carry_the_caret_and_did_you_mean():
    t = torch.full((8, 4), 7.0)
    with pytest.raises(RuntimeError) as e:
        torchinit.init_(t, "kaiming_normal(mode=fan_ot)", seed=1)
    message = str(e.value)
    assert "did you mean 'fan_out'" in message and "^" in message, message
    with pytest.raises(RuntimeError, match="did you mean 'kaiming_normal'"):
        torchinit.init_(t, "kaiming_normall", seed=1)
    assert torch.equal(t, torch.full((8, 4), 7.0))


def test_integer_and_overlapping_tensors_are_rejected_unchanged():
    ints = torch.zeros(8, 4, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="Long"):
        torchinit.init_(ints, "normal", seed=1)
    assert torch.equal(ints, torch.zeros(8, 4, dtype=torch.int64))
    base = torch.full((4,), 7.0)
    expanded = base.expand(8, 4)  # 32 elements over 4 memory locations
    with pytest.raises(RuntimeError, match="overlap"):
        torchinit.init_(expanded, "normal", seed=1)
    assert torch.equal(base, torch.full((4,), 7.0))


def test_meta_tensors_get_the_op_without_data():
    t = torch.empty(64, 32, device="meta")
    out = torchinit.init_(t, "kaiming_normal", seed=1, key="w")
    assert out.device.type == "meta" and tuple(out.shape) == (64, 32)
    with pytest.raises(RuntimeError, match="xavier_uniform"):
        torchinit.init_(torch.empty(4, device="meta"), "xavier_uniform", seed=1)


if hasattr(torch, "compile"):  # FakeTensorMode (tracing, torch.compile) is PyTorch 2.x only

    def test_fake_tensors_see_the_op():
        from torch._subclasses.fake_tensor import FakeTensorMode

        with FakeTensorMode():
            t = torch.empty(16, 8)
            out = torchinit.init_(t, "normal", seed=1)
            assert tuple(out.shape) == (16, 8)
