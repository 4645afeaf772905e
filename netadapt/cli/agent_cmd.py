"""``netadapt agent``: serve this machine's ONNX Runtime to a netadapt elsewhere (``--device remote:URL``)."""

from __future__ import annotations

import click

from netadapt.cli.settings import options_of, settings_from
from netadapt.config.agent import AgentSettings


@click.command()
@options_of(AgentSettings)
def agent(**options):
    """Time ONNX graphs sent by a netadapt on another machine, on this machine's ONNX Runtime.

    Every request must carry the token. Graphs arrive as raw ONNX bytes and are timed one request at a
    time with the local profiler's warm-up, repeats and statistics.

    Example: NETADAPT_AGENT_TOKEN=... netadapt agent --port 8470, then on the optimising machine
    netadapt profile --device remote:http://127.0.0.1:8470 (through an SSH tunnel).
    """
    from netadapt.agent.server import read_token, serve

    s = settings_from(AgentSettings, options)
    serve(s.host, s.port, read_token(s.token_file), s.max_bytes, s.label)
