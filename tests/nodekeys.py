"""Node keys for tests, built by hand the way ``profilers.units`` reads them from an optimised graph."""

from lut.nodekey import NodeKey, TensorSpec


def conv_key(cin: int, cout: int, hw: int = 8, kernel: int = 3, batch: int = 1, groups: int = 1,
             stride: int = 1, activation: str | None = None, domain: str = "") -> NodeKey:
    """A convolution with a bias, padding keeping the size (before the stride)."""
    pad = kernel // 2
    out = (hw + 2 * pad - kernel) // stride + 1
    attrs = {"kernel_shape": [kernel, kernel], "strides": [stride, stride], "pads": [pad] * 4, "group": groups,
             "dilations": [1, 1]}
    if activation:
        attrs["activation"] = activation
    return NodeKey.make(domain, "Conv", 17 if not domain else 1, attrs,
                        [TensorSpec((batch, cin, hw, hw), "float32"),
                         TensorSpec((cout, cin // groups, kernel, kernel), "float32", "weight"),
                         TensorSpec((cout,), "float32", "weight")],
                        [TensorSpec((batch, cout, out, out), "float32")])


def gemm_key(cin: int, cout: int, batch: int = 1) -> NodeKey:
    return NodeKey.make("", "Gemm", 17, {"transB": 1},
                        [TensorSpec((batch, cin), "float32"), TensorSpec((cout, cin), "float32", "weight"),
                         TensorSpec((cout,), "float32", "weight")],
                        [TensorSpec((batch, cout), "float32")])


def relu_key(shape: tuple[int, ...]) -> NodeKey:
    return NodeKey.make("", "Relu", 17, {}, [TensorSpec(tuple(shape), "float32")],
                        [TensorSpec(tuple(shape), "float32")])
