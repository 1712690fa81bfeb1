"""Sharded initialization: a tensor holding a slice of a full parameter gets exactly the bytes
that init_ on the full parameter puts there (torchinit::init_shard_, shard.h). Values depend on
(seed, key, element index of the full parameter) only, so they do not depend on the world size
or on how the parameter is cut; theory and fans come from the full shape.

    shard = torch.empty(1024, 16384)                 # rows [1024, 2048) of a [4096, 16384] weight
    torchinit.init_shard_(shard, "kaiming_normal", (4096, 16384), torchinit.Slice.rows(1024, 2048),
                          seed=7, key="fc.weight")
"""
import torch


class Slice:
    """Which part of the full parameter a shard holds (torchinit::Slice)."""

    def __init__(self, encoded, flat, text):
        self._encoded = list(encoded)
        self._flat = flat
        self._text = text

    @staticmethod
    def all():
        return Slice([], False, "all")

    @staticmethod
    def dim(d, begin, end):
        """[begin, end) along dim ``d``, every other dim whole."""
        return Slice([int(d), int(begin), int(end)], False, f"dim {d} [{begin}, {end})")

    @staticmethod
    def rows(begin, end):
        return Slice.dim(0, begin, end)

    @staticmethod
    def cols(begin, end):
        return Slice.dim(1, begin, end)

    @staticmethod
    def box(ranges):
        """[begin, end) per leading dim, in order; trailing dims not given are whole."""
        encoded = []
        for d, (begin, end) in enumerate(ranges):
            encoded += [d, int(begin), int(end)]
        return Slice(encoded, False, " x ".join(f"[{b}, {e})" for b, e in ranges))

    @staticmethod
    def flat(begin, end):
        """Elements [begin, end) of the row-major flattened parameter (FSDP-style chunks)."""
        return Slice([int(begin), int(end)], True, f"flat [{begin}, {end})")

    def __repr__(self):
        return f"Slice({self._text})"

    def view(self, full):
        """The part of the tensor ``full`` (of the full shape) that this slice covers, as a view."""
        if self._flat:
            return full.view(-1)[self._encoded[0]:self._encoded[1]]
        part = full
        for i in range(0, len(self._encoded), 3):
            d, begin, end = self._encoded[i:i + 3]
            part = part.narrow(d, begin, end - begin)
        return part


def init_shard_(shard, spec, full_shape, slice, seed=None, key=""):
    """Fills ``shard`` with ``slice`` of the parameter of ``full_shape`` that init_ would give.

    Use an explicit seed (or torch.manual_seed alike on every rank) so that every rank draws the
    same stream. On bad input (a slice outside the full shape, a shard of another shape, a spec
    that does not apply to the full shape) it raises RuntimeError and leaves the shard unchanged.
    """
    if not isinstance(slice, Slice):
        raise TypeError("torchinit.init_shard_: slice must be a torchinit.Slice "
                        "(Slice.rows/cols/dim/box/flat/all)")
    with torch.no_grad():
        return torch.ops.torchinit.init_shard_(shard, spec, [int(s) for s in full_shape],
                                               slice._encoded, slice._flat, seed, key)
