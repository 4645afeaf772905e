"""What identifies the agent's device: the ONNX Runtime device fingerprint plus the board's own name."""

from __future__ import annotations

import functools

_MODEL_FILES = ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model")


@functools.lru_cache(maxsize=1)
def board_model() -> str:
    """The board name from the device tree (e.g. ``Raspberry Pi 4 Model B Rev 1.4``), or empty.

    Many ARM boards report no CPU model name, so two different boards would otherwise share a fingerprint.
    """
    for path in _MODEL_FILES:
        try:
            with open(path, "rb") as fh:
                text = fh.read().replace(b"\x00", b" ").decode("utf-8", errors="replace")
        except OSError:
            continue
        if text.strip():
            return " ".join(text.split())
    return ""


def agent_fingerprint(device, label: str = "") -> dict[str, str | int]:
    """``device.fingerprint()`` (an ``OrtDevice``) with the board's name and the operator's label added."""
    fp = dict(device.fingerprint())
    board = board_model()
    if board:
        fp["board"] = board
    if label:
        fp["label"] = label
    return fp
