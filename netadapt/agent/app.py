"""The agent's HTTP interface (FastAPI).

Every request carries ``Authorization: Bearer TOKEN``; the token is compared in constant time and a
wrong or missing one is answered 401 before anything else is read. Bodies are raw ONNX bytes (never a
pickle), at most ``max_bytes`` long (413 beyond). Settings travel in the query string:
``provider`` (default CPUExecutionProvider), ``threads`` (1), ``optimization`` (all), ``device_id``.

    GET  /info                      providers, ONNX Runtime version, the fingerprint for the settings
    POST /time/node                 samples of a node graph run as it is (warmup, repeats, min_time_ms)
    POST /time/model                samples of a whole model (input_shape, seed, warmup, repeats, ...)
    POST /optimize                  the graph ONNX Runtime really runs for a model (ONNX bytes back)
    POST /inspect                   every output's shape and type for one run of an optimised graph
    POST /sessions                  load a whole model for paired runs; returns its id
    POST /alternate?ids=A,B&pairs=N per-run times of loaded models run in turn (A,B then B,A, ...)

One request works at a time (a lock): two timings at once would slow each other down.
"""

from __future__ import annotations

import hmac
import time

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from netadapt.agent.runner import BadRequest, RunFailed, Runner
from netadapt.errors import UserError

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        dims = tuple(int(d) for d in text.replace(",", "x").split("x"))
    except ValueError:
        raise BadRequest(f"malformed input_shape {text!r}: expected e.g. 1x3x32x32") from None
    if not dims or any(d < 1 or d > 100_000 for d in dims):
        raise BadRequest(f"input_shape {text!r} has a dimension out of range")
    return dims


def create_app(token: str, max_bytes: int = DEFAULT_MAX_BYTES, label: str = "") -> FastAPI:
    """The agent's application.

    Args:
        token: the secret every request must present.
        max_bytes: the largest request body accepted.
        label: the operator's name for the device, added to its fingerprint.
    """
    if not token:
        raise UserError("the agent needs a token")
    expected = token.encode("utf-8")
    runner = Runner(label)
    app = FastAPI(title="netadapt agent", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def require_token(request: Request, call_next):
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if not (scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8"), expected)):
            return JSONResponse({"detail": "missing or wrong token"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def bad_query(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        where = ", ".join(".".join(str(p) for p in e.get("loc", ())) + ": " + str(e.get("msg", "")) for e in errors)
        return JSONResponse({"detail": f"bad request parameters ({where})"}, status_code=400)

    async def body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise HTTPException(400, "malformed Content-Length")
            if int(declared) > max_bytes:
                raise HTTPException(413, f"body of {int(declared)} bytes is over the agent's limit of "
                                         f"{max_bytes} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise HTTPException(413, f"body is over the agent's limit of {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def locked(fn, *args):
        with runner.lock:
            return fn(*args)

    async def serve(fn, *args):
        """Run blocking work under the lock, turning the runner's errors into HTTP answers."""
        try:
            return await run_in_threadpool(locked, fn, *args)
        except UserError as exc:  # BadRequest, and input shapes that do not fit the model
            raise HTTPException(400, str(exc)) from exc
        except RunFailed as exc:
            raise HTTPException(422, str(exc)) from exc

    def settings(provider: str, threads: int, optimization: str, device_id: int | None):
        return runner.device(provider, threads, optimization, device_id)

    @app.get("/info")
    async def info(provider: str = "CPUExecutionProvider", threads: int = 1, optimization: str = "all",
                   device_id: int | None = None):
        reply = await run_in_threadpool(runner.info, provider, threads, optimization, device_id)
        reply["max_bytes"] = max_bytes
        return reply

    @app.post("/time/{kind}")
    async def time_graph(kind: str, request: Request, provider: str = "CPUExecutionProvider", threads: int = 1,
                         optimization: str = "all", device_id: int | None = None, warmup: int = 10,
                         repeats: int = 50, min_time_ms: float = 0.0, input_shape: str | None = None,
                         seed: int = 0):
        if kind not in ("node", "model"):
            raise HTTPException(404, f"unknown timing kind {kind!r}: node or model")
        if not (0 <= warmup <= 100_000 and 1 <= repeats <= 1_000_000 and 0 <= min_time_ms <= 600_000):
            raise HTTPException(400, "warmup, repeats or min_time_ms out of range")
        data = await body(request)

        def work():
            device = settings(provider, threads, optimization, device_id)
            start = time.perf_counter()
            samples = runner.time_graph(device, data, kind, warmup, repeats, min_time_ms, _shape(input_shape),
                                        seed)
            return {"samples_ms": samples, "wall_s": time.perf_counter() - start}

        return await serve(work)

    @app.post("/optimize")
    async def optimize(request: Request, provider: str = "CPUExecutionProvider", threads: int = 1,
                       optimization: str = "all", device_id: int | None = None):
        data = await body(request)
        optimized = await serve(lambda: runner.optimize(settings(provider, threads, optimization, device_id),
                                                        data))
        return Response(optimized, media_type="application/octet-stream")

    @app.post("/inspect")
    async def inspect(request: Request, input_shape: str, provider: str = "CPUExecutionProvider",
                      threads: int = 1, optimization: str = "all", device_id: int | None = None, seed: int = 0):
        data = await body(request)
        outputs = await serve(lambda: runner.inspect(settings(provider, threads, optimization, device_id),
                                                     data, _shape(input_shape), seed))
        return {"outputs": outputs}

    @app.post("/sessions")
    async def load(request: Request, input_shape: str, provider: str = "CPUExecutionProvider", threads: int = 1,
                   optimization: str = "all", device_id: int | None = None, seed: int = 0):
        data = await body(request)
        sid = await serve(lambda: runner.load(settings(provider, threads, optimization, device_id), data,
                                              _shape(input_shape), seed))
        return {"id": sid}

    @app.post("/alternate")
    async def alternate(ids: str, pairs: int = 30, warmup: int = 1):
        wanted = [s for s in ids.split(",") if s]
        if not 1 <= len(wanted) <= 2:
            raise HTTPException(400, "alternate takes one or two session ids")
        if not (1 <= pairs <= 100_000 and 0 <= warmup <= 10_000):
            raise HTTPException(400, "pairs or warmup out of range")

        def work():
            missing = [s for s in wanted if not runner.has(s)]
            if missing:
                raise HTTPException(404, f"unknown session {missing[0]} (the agent restarted or dropped it)")
            return {"times_ms": runner.alternate(wanted, pairs, warmup)}

        return await serve(work)

    return app
