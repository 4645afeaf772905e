"""Start the agent: read its token, check where it binds, serve with uvicorn."""

from __future__ import annotations

import ipaddress
import os
import sys

from netadapt.errors import UserError

TOKEN_ENV = "NETADAPT_AGENT_TOKEN"


def read_token(token_file: str | None = None) -> str:
    """The token from ``token_file`` (its first line) or else from $NETADAPT_AGENT_TOKEN.

    Raises:
        UserError: neither holds a token.
    """
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as fh:
                token = fh.readline().strip()
        except OSError as exc:
            raise UserError(f"cannot read token file {token_file}: {exc.strerror}") from exc
        if not token:
            raise UserError(f"token file {token_file} is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UserError(f"the agent needs a token: set {TOKEN_ENV} or give --token-file (e.g. from "
                        "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 8470, token: str = "", max_bytes: int | None = None,
          label: str = "") -> None:
    """Serve the agent until interrupted (one worker, one request timed at a time)."""
    try:
        import uvicorn
    except ImportError as exc:
        raise UserError("the agent needs FastAPI and uvicorn: pip install 'netadapt[agent]'") from exc
    from netadapt.agent.app import DEFAULT_MAX_BYTES, create_app

    app = create_app(token, max_bytes or DEFAULT_MAX_BYTES, label)
    if not is_loopback(host):
        print(f"netadapt agent: listening on {host}, beyond this machine, in plain HTTP: put TLS or an SSH "
              "tunnel in front of it", file=sys.stderr)
    print(f"netadapt agent: http://{host}:{port} (token required; Ctrl-C stops)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, workers=1)
