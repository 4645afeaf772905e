"""``netadapt agent``: serve this machine's ONNX Runtime to a netadapt elsewhere (``--device remote:URL``)."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback should sit behind TLS or an SSH tunnel.")
@click.option("--port", type=click.IntRange(0, 65535), default=8470, show_default=True)
@click.option("--token-file", type=click.Path(dir_okay=False), default=None,
              help="File whose first line is the token (default: $NETADAPT_AGENT_TOKEN).")
@click.option("--max-bytes", type=click.IntRange(1), default=64 * 1024 * 1024, show_default=True,
              help="Largest model accepted, in bytes (larger requests get HTTP 413).")
@click.option("--label", default="", help="A name for this device, added to its fingerprint (e.g. the board).")
def agent(host, port, token_file, max_bytes, label):
    """Time ONNX graphs sent by a netadapt on another machine, on this machine's ONNX Runtime.

    Every request must carry the token. Graphs arrive as raw ONNX bytes and are timed one request at a
    time with the local profiler's warm-up, repeats and statistics.

    Example: NETADAPT_AGENT_TOKEN=... netadapt agent --port 8470, then on the optimising machine
    netadapt profile --device remote:http://127.0.0.1:8470 (through an SSH tunnel).
    """
    from netadapt.agent.server import read_token, serve

    serve(host, port, read_token(token_file), max_bytes, label)
