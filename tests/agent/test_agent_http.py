"""The agent's HTTP surface: the token on every request, the size limit, ONNX bytes only."""

import http.client
import json
import subprocess
import sys
import urllib.request

import numpy as np
import onnx
import pytest
from agentproc import MAX_BYTES, ROOT, TOKEN, get
from onnx import helper, numpy_helper


def post(url: str, path: str, body: bytes, token: str = TOKEN):
    req = urllib.request.Request(url + path, data=body, method="POST",
                                 headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def relu_model(shape=(1, 8, 4, 4)) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, list(shape))
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_info_needs_the_token(agent):
    assert get(agent.url, "/info", token=None)[0] == 401
    assert get(agent.url, "/info", token="wrong-token")[0] == 401
    assert get(agent.url, "/no-such-page", token=None)[0] == 401  # before routing: nothing is revealed
    status, body = get(agent.url, "/info")
    assert status == 200
    info = json.loads(body)
    assert "CPUExecutionProvider" in info["providers"] and info["max_bytes"] == MAX_BYTES
    fp = info["fingerprint"]
    assert fp["provider"] == "CPUExecutionProvider" and fp["intra_op_threads"] == 1 and fp["processor"]
    status, body = get(agent.url, "/info?threads=2&provider=NoSuchExecutionProvider")
    assert status == 200 and json.loads(body)["fingerprint"] is None


def test_an_oversized_body_is_refused_with_413(agent):
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=10)
    conn.putrequest("POST", "/time/node")
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.putheader("Content-Length", str(MAX_BYTES + 1))
    conn.endheaders()  # the body is never sent: the declared length is enough to refuse it
    reply = conn.getresponse()
    assert reply.status == 413
    assert "limit" in json.loads(reply.read())["detail"]
    conn.close()


def test_bodies_that_are_not_onnx_are_refused_with_a_message(agent):
    status, body = post(agent.url, "/time/node", b"\x80\x03 not a model, perhaps a pickle" * 10)
    assert status == 400 and "not an ONNX model" in body["detail"]
    status, body = post(agent.url, "/time/node", b"")
    assert status == 400 and "empty body" in body["detail"]
    assert post(agent.url, "/time/node", relu_model().SerializeToString(), token="wrong")[0] == 401


def test_tensors_stored_outside_the_model_are_refused(agent):
    model = relu_model()
    weight = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = onnx.TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="../../etc/passwd")
    model.graph.initializer.append(weight)
    status, body = post(agent.url, "/optimize", model.SerializeToString())
    assert status == 400 and "external data" in body["detail"]


def test_a_node_graph_is_timed_with_the_requested_repeats(agent):
    status, body = post(agent.url, "/time/node?warmup=2&repeats=7", relu_model().SerializeToString())
    assert status == 200
    assert len(body["samples_ms"]) == 7 and all(s > 0 for s in body["samples_ms"])
    status, body = post(agent.url, "/time/model?repeats=3&input_shape=1x8x5x5", relu_model().SerializeToString())
    assert status == 400 and "does not fit" in body["detail"]


def test_the_agent_does_not_import_torch():
    code = ("import sys, netadapt.agent.app, netadapt.agent.server, netadapt.cli.agent_cmd, devices.ort, "
            "profilers.ort_profiler; bad = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sqlalchemy'}); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("env_token", ["", " "])
def test_the_agent_refuses_to_start_without_a_token(tmp_path, env_token):
    import os

    env = {**os.environ, "NETADAPT_AGENT_TOKEN": env_token, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "netadapt.cli", "agent", "--port", "1"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "NETADAPT_AGENT_TOKEN" in done.stderr
