"""The signature of one layer as deployed: what the lookup table is keyed by.

A signature describes one timed unit, e.g. a convolution with its batch-norm folded in and its
activation fused, or a residual addition followed by its activation. Two layers with equal
signatures run the same kernels on a device, so they share one measurement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

OPS = ("conv", "linear", "add", "maxpool", "avgpool", "global_avgpool", "flatten")
ACTIVATIONS = ("none", "relu", "relu6", "hardswish", "sigmoid")


@dataclass(frozen=True, order=True)
class LayerSignature:
    """One layer's shape and kind.

    Attributes:
        op: one of OPS. ``conv`` has batch-norm folded (a bias); ``linear`` has a bias.
        batch: batch size.
        cin: input channels (features for ``linear``).
        h: input height (1 for ``linear`` and ``flatten`` outputs).
        w: input width.
        cout: output channels (equal to cin for pooling, add and flatten).
        kernel: square kernel size (convolution and pooling).
        stride: stride (convolution and pooling).
        padding: symmetric padding (convolution and pooling).
        groups: convolution groups (cin for depthwise).
        activation: fused activation after the op, one of ACTIVATIONS.
        dtype: element type of the tensors.
    """

    op: str
    batch: int
    cin: int
    h: int
    w: int
    cout: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    activation: str = "none"
    dtype: str = "float32"

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"unknown layer op {self.op!r}; valid: {', '.join(OPS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; valid: {', '.join(ACTIVATIONS)}"
            )
        for name in ("batch", "cin", "h", "w", "cout", "kernel", "stride", "groups"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 in {self}")
        if self.padding < 0:
            raise ValueError(f"padding must be >= 0 in {self}")
        if self.op == "conv" and (self.cin % self.groups or self.cout % self.groups):
            raise ValueError(f"channels not divisible by groups in {self}")

    @property
    def out_h(self) -> int:
        if self.op in ("conv", "maxpool", "avgpool"):
            return (self.h + 2 * self.padding - self.kernel) // self.stride + 1
        if self.op in ("global_avgpool", "linear", "flatten"):
            return 1
        return self.h

    @property
    def out_w(self) -> int:
        if self.op in ("conv", "maxpool", "avgpool"):
            return (self.w + 2 * self.padding - self.kernel) // self.stride + 1
        if self.op in ("global_avgpool", "linear", "flatten"):
            return 1
        return self.w

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.op == "linear":
            return (self.batch, self.cin)
        return (self.batch, self.cin, self.h, self.w)

    @property
    def output_shape(self) -> tuple[int, ...]:
        if self.op in ("linear", "flatten"):
            return (self.batch, self.cout * (1 if self.op == "linear" else self.h * self.w))
        return (self.batch, self.cout, self.out_h, self.out_w)

    @property
    def macs(self) -> int:
        """Multiply-accumulates (convolution, linear) or elements touched (other ops)."""
        if self.op == "conv":
            return (self.batch * self.cout * self.out_h * self.out_w
                    * (self.cin // self.groups) * self.kernel * self.kernel)
        if self.op == "linear":
            return self.batch * self.cin * self.cout
        if self.op in ("maxpool", "avgpool"):
            return self.batch * self.cout * self.out_h * self.out_w * self.kernel * self.kernel
        return self.batch * self.cin * self.h * self.w

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "LayerSignature":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def short(self) -> str:
        """A compact human-readable form, e.g. ``conv3x3/s1 g1 16->32 @32x32 relu``."""
        if self.op == "conv":
            return (f"conv{self.kernel}x{self.kernel}/s{self.stride} g{self.groups} "
                    f"{self.cin}->{self.cout} @{self.h}x{self.w} b{self.batch} {self.activation}")
        if self.op == "linear":
            return f"linear {self.cin}->{self.cout} b{self.batch} {self.activation}"
        return f"{self.op} c{self.cin} @{self.h}x{self.w} b{self.batch} {self.activation}"
