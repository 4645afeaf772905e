"""Latency budgets: absolute (``20ms``, ``1.5s``, ``800us``) or relative to the start (``50%``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from netadapt.errors import UserError

_UNITS = {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}
_PATTERN = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(us|µs|ms|s|%)\s*$", re.ASCII)


@dataclass(frozen=True)
class Budget:
    """A latency budget. ``relative`` budgets are a fraction of the starting latency."""

    value: float
    relative: bool = False
    text: str = ""

    def resolve(self, start_ms: float) -> float:
        """The budget in milliseconds, given the starting model's measured latency."""
        return self.value * start_ms if self.relative else self.value

    def __str__(self) -> str:
        return self.text or (f"{self.value * 100:g}%" if self.relative else f"{self.value:g}ms")


def parse_budget(text: str) -> Budget:
    """Parse a budget string.

    Raises:
        UserError: on anything but a positive number with a unit (us, ms, s) or a percentage in (0, 100).
    """
    if not isinstance(text, str):
        raise UserError(f"budget {text!r} must be a string such as 20ms or 50%")
    match = _PATTERN.match(text)
    if not match:
        hint = " (add a unit: us, ms, s, or %)" if re.match(r"^\s*[+-]?[\d.]+\s*$", text) else ""
        raise UserError(f"budget {text!r} is not a latency such as 20ms, 1.5s, 800us or 50%{hint}")
    number, unit = float(match.group(1)), match.group(2)
    if not math.isfinite(number):
        raise UserError(f"budget {text!r} is not a finite number")
    if number <= 0:
        raise UserError(f"budget {text!r} must be greater than zero")
    if unit == "%" and number >= 100:
        raise UserError(f"budget {text!r} must be below 100% of the starting latency")
    value = number / 100.0 if unit == "%" else number * _UNITS[unit]
    if not 0 < value < math.inf:  # 5e-324us underflows to 0, 1e308s overflows
        raise UserError(f"budget {text!r} is out of range")
    return Budget(value, relative=unit == "%", text=text.strip())
