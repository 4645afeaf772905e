"""A farm of boards (``--device remote:URL1,URL2``): one fingerprint, node timings spread over the agents, whole
models on one board, and one line for a board that differs or cannot be reached."""

import re
import sqlite3
import threading
import time

import pytest
from agentproc import TOKEN, Agent, free_port, in_background, wait_for_rows
from click.testing import CliRunner

from devices import get_device, usable_device
from netadapt.cli import cli, main
from netadapt.errors import UserError

GRID = ["--model", "digits_cnn", "--input-shape", "1x1x16x16", "--channel-step", "32", "--scope", "grid",
        "--warmup", "1", "--repeats", "3", "--no-progress"]


def start_agents(folder, *labels):
    """Agent processes started side by side, one per label ("" for none)."""
    agents, errors = [None] * len(labels), []

    def start(i, label):
        try:
            agents[i] = Agent(folder / f"agent{i}", None, *(["--label", label] if label else []))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(i, label)) for i, label in enumerate(labels)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for a in agents:
            if a is not None:
                a.stop()
        raise errors[0]
    return agents


@pytest.fixture(scope="module")
def boards(tmp_path_factory):
    """Two agents of one fingerprint and a third labelled as another board."""
    agents = start_agents(tmp_path_factory.mktemp("farm"), "", "", "another board")
    yield agents
    for a in agents:
        a.stop()


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("NETADAPT_AGENT_TOKEN", TOKEN)


def farm(*agents) -> str:
    return "remote:" + ",".join(a.url for a in agents)


def _main(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def rows(db) -> dict[str, int]:
    """key id -> sample count of every stored node measurement."""
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT key_id, count FROM node_measurements").fetchall())


def by_board(output: str) -> list[int]:
    part = re.search(r"Nodes by board: (.*)\.", output).group(1)
    return [int(n) for n in re.findall(r" (\d+)(?:,|$)", part)]


def test_farm_names_are_checked():
    with pytest.raises(UserError, match="lists the agent at http://127.0.0.1:1 twice"):
        get_device("remote:http://127.0.0.1:1,http://127.0.0.1:1/")
    with pytest.raises(UserError, match="empty URL"):
        get_device("remote:http://127.0.0.1:1,")
    with pytest.raises(UserError, match="expected remote:http://HOST:PORT"):
        get_device("remote:http://127.0.0.1:1,127.0.0.1:2")
    dev = get_device("remote:http://127.0.0.1:1?timeout=5,http://127.0.0.1:2", threads=2)
    assert [b.base for b in dev.boards] == ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    assert [b.timeout for b in dev.boards] == [5, 600] and all(b.threads == 2 for b in dev.boards)


def test_a_farm_fills_the_same_rows_as_one_agent(boards, token, tmp_path):
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    alone = CliRunner().invoke(cli, ["profile", "--device", farm(boards[0]), *GRID, "--lut", str(one)])
    assert alone.exit_code == 0, alone.output
    together = CliRunner().invoke(cli, ["profile", "--device", farm(*boards[:2]), *GRID, "--lut", str(two)])
    assert together.exit_code == 0, together.output
    single, both = rows(one), rows(two)
    assert len(single) > 15 and set(both) == set(single)
    assert set(single.values()) == set(both.values()) == {3}
    shares = by_board(together.output)
    assert len(shares) == 2 and sum(shares) == len(both) and min(shares) > 0  # both boards took nodes
    assert get_device(farm(*boards[:2])).fingerprint() == get_device(farm(boards[1])).fingerprint()


def test_boards_of_different_fingerprints_are_refused_with_one_line(boards, token, tmp_path, capsys):
    lut = tmp_path / "lut.db"
    code, _, err = _main(["profile", "--device", farm(boards[0], boards[2]), *GRID, "--lut", str(lut)], capsys)
    assert code == 2 and err.startswith("Error: ") and err.strip().count("\n") == 0, err
    assert f"the agents at {boards[0].url} and {boards[2].url} report different devices" in err
    assert "label None against 'another board'" in err
    assert not lut.exists() or rows(lut) == {}


def test_one_board_unreachable_at_start_is_one_line(boards, token, tmp_path, capsys):
    lut = tmp_path / "lut.db"
    dead = f"http://127.0.0.1:{free_port()}"
    code, _, err = _main(["profile", "--device", f"remote:{boards[0].url},{dead}", *GRID, "--lut", str(lut)],
                         capsys)
    assert code == 2 and err.strip().count("\n") == 0, err
    assert f"the agent at {dead} is unreachable" in err
    assert not lut.exists() or rows(lut) == {}


def test_whole_model_comparisons_run_on_one_board(boards, token):
    import torch

    from netadapt.export import export_bytes
    from netadapt.latency.paired import PairedConfig, compare_models
    from netadapt.models import create_model
    from profilers import get_profiler

    torch.manual_seed(0)
    shape = (1, 1, 16, 16)
    big = export_bytes(create_model("digits_cnn", width_mult=1.0), shape)
    small = export_bytes(create_model("digits_cnn", width_mult=0.25), shape)
    device = usable_device(farm(*boards[:2]))
    profiler = get_profiler(device)
    a, b = profiler.model_timer(big, shape), profiler.model_timer(small, shape)
    assert a.device is b.device is device.boards[0] and a.partner is b  # the pair's times come from one board
    device.retire(device.boards[0], "taken out by the test")
    c, d = profiler.model_timer(big, shape), profiler.model_timer(small, shape)
    assert c.device is d.device is device.boards[1] and c.partner is d
    result = compare_models(device, big, small, shape,
                            config=PairedConfig(warmup=2, min_pairs=20, max_pairs=40, max_seconds=20))
    assert result.ratio > 1.5 and result.low <= result.ratio <= result.high
    assert profiler.measure_model(small, shape).median > 0


@pytest.mark.slow
def test_a_board_killed_mid_profile_leaves_its_work_to_the_others(tmp_path, token, capsys, caplog):
    agents = start_agents(tmp_path, "", "")
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    argv = [*GRID, "--repeats", "30"]
    try:
        worker, outcome = in_background(["profile", "--device", farm(*agents), *argv, "--lut", str(two)])
        wait_for_rows(two, 3, worker, 120)
        agents[0].stop()  # the model board: its graphs and its nodes in flight go to the other
        worker.join(180)
        err = capsys.readouterr().err
        assert outcome.get("code") == 0, err
        assert f"the agent at {agents[0].url} stopped answering; 1 of 2 boards go on" in caplog.text
        code, _, err = _main(["profile", "--device", farm(agents[1]), *argv, "--lut", str(one)], capsys)
        assert code == 0, err
    finally:
        for a in agents:
            a.stop()
    single, both = rows(one), rows(two)
    assert len(single) > 15 and set(both) == set(single)  # complete, and the keys one agent stores
    assert set(both.values()) == {30}  # only whole measurements were stored


class _Board:
    """A board's profiler that measures ``good`` keys (each in ``seconds``) and then stops answering."""

    def __init__(self, good: int, seconds: float = 0.0):
        self.good, self.seconds, self.took = good, seconds, []

    def measure_node(self, key):
        from devices.errors import DeviceUnavailable
        from lut.stats import Stats

        if len(self.took) >= self.good:
            raise DeviceUnavailable("the agent at http://board is unreachable: [Errno 111] Connection refused")
        time.sleep(self.seconds)
        self.took.append(key)
        return Stats.from_samples([float(len(key))])


def test_the_work_queue_hands_a_stopped_boards_nodes_to_the_others():
    from devices.errors import DeviceUnavailable
    from profilers import get_profiler

    device = get_device("remote:http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3")
    profiler = get_profiler(device)
    boards = [_Board(2, 0.01), _Board(100, 0.01), _Board(100, 0.03)]
    profiler.boards = {id(b): fake for b, fake in zip(device.boards, boards)}
    keys = [f"node{i:02d}" for i in range(30)]
    got = dict(profiler.measure_many(keys))
    assert sorted(got) == keys and all(s.median == 6.0 for s in got.values())
    took = [len(b.took) for b in boards]
    assert took[0] == 2 and sum(took) == 30 and took[1] > took[2] > 0  # the quickest board took the most
    assert device.live() == device.boards[1:] and device.model_board() is device.boards[1]

    more = [_Board(3), _Board(4)]
    device = get_device("remote:http://127.0.0.1:1,http://127.0.0.1:2")
    profiler = get_profiler(device)
    profiler.boards = {id(b): fake for b, fake in zip(device.boards, more)}
    stored = []
    with pytest.raises(DeviceUnavailable, match=r"every agent of the farm stopped answering with 3 of 10 nodes left"):
        for key, _ in profiler.measure_many(keys[:10]):
            stored.append(key)
    assert len(stored) == 7 and len(set(stored)) == 7
    with pytest.raises(DeviceUnavailable, match="every agent of the farm stopped answering"):
        profiler.measure_model(b"", (1, 1, 4, 4))
