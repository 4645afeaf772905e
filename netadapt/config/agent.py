"""Settings of ``netadapt agent``: where it listens, how requests are authorised, and what it accepts."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting


@dataclass(frozen=True)
class AgentSettings:
    """This machine's ONNX Runtime served to a netadapt elsewhere."""

    host: str = setting("127.0.0.1", "Address to bind; anything but loopback should sit behind TLS or an SSH "
                                     "tunnel.")
    port: int = setting(8470, "TCP port to listen on.", low=0, high=65535)
    token_file: str | None = setting(None, "File whose first line is the token (default: $NETADAPT_AGENT_TOKEN).",
                                     file=True)
    max_bytes: int = setting(64 * 1024 * 1024, "Largest model accepted, in bytes (larger requests get HTTP 413).",
                             low=1)
    label: str = setting("", "A name for this device, added to its fingerprint (e.g. the board).")

    def __post_init__(self):
        check(self)
