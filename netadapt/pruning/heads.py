"""Attention heads: a group that is the inner width of an attention layer leaves in whole heads.

An attention layer written with separate query, key and value projections (Hugging Face's encoders, most
hand-written ones) views their outputs as (batch, tokens, heads, head size) and concatenates the heads back
into the output projection: one channel group, in which a channel can only leave with its whole head, and
after which the layer's head count (``num_heads``, ``num_attention_heads`` ...) must say how many are left.
The layer is found as the nearest module above the group's layers that records a head count and a head size
whose product is the group's width.

``nn.MultiheadAttention`` packs its projections into one matrix whose inner width is the model's width, so
its heads cannot leave one by one: there the model width shrinks in whole multiples of the heads
(``netadapt.pruning.dependency.channel_multiple``).
"""

from __future__ import annotations

from torch import nn

#: Names under which attention layers record their head count, and their head size.
HEAD_COUNTS = ("num_heads", "num_attention_heads", "n_heads", "n_head", "heads")
HEAD_SIZES = ("head_dim", "attention_head_size", "head_size", "d_head")
#: Widths such a layer may record beside them (Hugging Face's ``all_head_size``).
INNER_WIDTHS = ("all_head_size", "inner_dim", "inner_size")


def _ints(module: nn.Module, names) -> list[tuple[str, int]]:
    return [(n, getattr(module, n)) for n in names
            if isinstance(getattr(module, n, None), int) and not isinstance(getattr(module, n), bool)]


def attention_layer(model: nn.Module, members: list[str], size: int) -> tuple[str, int] | None:
    """(the qualified name of the attention layer whose heads a group of ``size`` channels is, its head size),
    or None when the group is not the inner width of such a layer.

    The layer records a head count and a head size whose product is ``size``, at least two linear layers inside
    it produce the group's channels (the query and key projections, with the value one), and a linear layer
    reads them (the output projection, inside the layer or beside it, as in Hugging Face's encoders). The model
    width that enters and leaves an attention layer is produced there by one projection only.
    """
    modules = dict(model.named_modules())
    sides = [(m.rsplit(":", 1)[0], m.rsplit(":", 1)[1]) for m in members]
    owners = dict.fromkeys(name.rsplit(".", k)[0] for name, _ in sides for k in range(1, name.count(".") + 1))
    for name in owners:
        owner = modules.get(name)
        if owner is None or isinstance(owner, nn.MultiheadAttention):
            continue
        heads = [(count, head) for _, count in _ints(owner, HEAD_COUNTS) for _, head in _ints(owner, HEAD_SIZES)
                 if count > 1 and head > 1 and count * head == size]
        if not heads:
            continue
        produced = [n for n, side in sides if side == "out" and n.startswith(name + ".")
                    and isinstance(modules.get(n), nn.Linear)]
        read = [n for n, side in sides if side == "in" and isinstance(modules.get(n), nn.Linear)]
        if len(produced) >= 2 and read:
            return name, heads[0][1]
    return None


def update_heads(model: nn.Module, layer: str, old: int, new: int, head_size: int) -> None:
    """After ``layer``'s inner width went from ``old`` to ``new`` channels, set its head count (and any inner
    width it records) to match."""
    owner = model.get_submodule(layer)
    for name, value in _ints(owner, HEAD_COUNTS):
        if value * head_size == old:
            setattr(owner, name, new // head_size)
    for name, value in _ints(owner, INNER_WIDTHS):
        if value == old:
            setattr(owner, name, new)


def whole_heads(kept: list[int], head_size: int) -> list[int]:
    """The heads that ``kept`` channel indices keep whole.

    Raises:
        ValueError: a head is kept in part.
    """
    heads = sorted({i // head_size for i in kept})
    if sorted(kept) != [h * head_size + j for h in heads for j in range(head_size)]:
        raise ValueError(f"attention heads of {head_size} channels leave whole; the kept channels split one")
    return heads
