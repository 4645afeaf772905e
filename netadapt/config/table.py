"""Settings of the latency lookup table a command reads and fills (``--lut``)."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting


@dataclass(frozen=True)
class TableSettings:
    """Which lookup table."""

    lut: str | None = setting(None, "Lookup table: a SQLite file path or any SQLAlchemy URL (default: $NETADAPT_LUT "
                                    "or ~/.cache/netadapt/lut.db).", metavar="PATH|URL")

    def __post_init__(self):
        check(self)
