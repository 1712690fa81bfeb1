"""The committed golden digests (test/golden/*.txt), read as test/golden/golden_test.cpp reads
them: `key fields | ... = sha256`, where a fourth field `lapack=<name>` marks QR-based bytes of
one LAPACK only."""
import os

import torch

import torchinit

# The shapes of initializers.txt: the first that a spec applies to (golden_test.cpp).
SHAPES = [(96, 80), (16, 8, 3, 3), (64,)]

GOLDEN_DIR = os.environ["TORCHINIT_GOLDEN_DIR"]


def lapack():
    """The LAPACK whose QR bytes this torch computes, named as in the digests' keys."""
    if not torch.backends.mkl.is_available():
        # OpenBLAS picks its kernels per CPU and the QR bytes follow them: the digests are those
        # of its Haswell kernels (golden_test.cpp), which ctest asks for.
        assert os.environ.get("OPENBLAS_CORETYPE") == "Haswell", (
            "run with OPENBLAS_CORETYPE=Haswell: the QR-based golden digests are OpenBLAS's "
            "Haswell kernels' bytes; ctest sets it")
        return "openblas"
    return "mkl-cbwr-compatible" if os.environ.get("MKL_CBWR") == "COMPATIBLE" else "mkl"


def digests(file):
    """(key fields, digest) of every entry of ``file`` that this LibTorch computes."""
    out = []
    with open(os.path.join(GOLDEN_DIR, file)) as f:
        for line in f:
            if line.startswith("#") or " = " not in line:
                continue
            key, digest = line.rstrip("\n").rsplit(" = ", 1)
            fields = key.split(" | ")
            if len(fields) == 4 and fields[3] != f"lapack={lapack()}":
                continue  # QR bytes of another LAPACK
            out.append((fields, digest))
    return out


def shape_for(spec):
    """The golden shape of ``spec``: the first of SHAPES it applies to."""
    for shape in SHAPES:
        try:
            torchinit.theory(spec, shape)
            return shape
        except RuntimeError:
            pass
    raise AssertionError(f"no golden shape fits {spec}")


def initializer_specs():
    """Every spec of initializers.txt (each registered initializer, some with arguments)."""
    return sorted({fields[0] for fields, _ in digests("initializers.txt")})
