"""Fixtures: one agent process per test module, and its device name with the client's token set."""

import pytest

pytest.importorskip("fastapi", reason="the agent needs FastAPI and uvicorn (pip install 'netadapt[agent]')")
pytest.importorskip("uvicorn", reason="the agent needs FastAPI and uvicorn (pip install 'netadapt[agent]')")

from agentproc import TOKEN, Agent


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    a = Agent(tmp_path_factory.mktemp("agent"))
    yield a
    a.stop()


@pytest.fixture
def remote(agent, monkeypatch):
    """The agent's device name, with the client's token set."""
    monkeypatch.setenv("NETADAPT_AGENT_TOKEN", TOKEN)
    return f"remote:{agent.url}"
