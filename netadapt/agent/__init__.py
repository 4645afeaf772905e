"""The device agent: a small HTTP service on the target device that times the ONNX graphs it is sent.

``netadapt agent`` serves it; ``--device remote:http://HOST:PORT`` (``devices.remote``) talks to it. The
agent's modules import onnxruntime, numpy, onnx and the web stack (FastAPI, uvicorn), never torch, so a
board needs no training stack. See docs/agent.md.
"""
