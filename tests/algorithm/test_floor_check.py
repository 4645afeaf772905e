"""The budget floor: a budget the table puts out of reach is refused only when the smallest network on the
channel grid, built and measured, misses it."""

import pytest
import usertasks

import netadapt
import netadapt.algorithm.loop as loop
from netadapt.errors import UserError


def _prune(tmp_path, budget, log):
    return netadapt.prune(usertasks.tagger_task(), budget=budget, out=tmp_path / "run", device="fake",
                          short_term_steps=1, long_term_steps=0, lut=str(tmp_path / "lut.db"), warmup=0, repeats=1,
                          model_repeats=1, max_iterations=1, progress=False, log=log)


def test_a_table_that_overestimates_the_smallest_network_does_not_refuse_a_budget_it_meets(tmp_path, monkeypatch):
    real = loop.smallest_network_ms
    monkeypatch.setattr(loop, "smallest_network_ms", lambda *a, **k: 10 * real(*a, **k))  # the table says no
    said = []
    result = _prune(tmp_path, "85%", said.append)
    assert any("over the budget, but it measures" in line for line in said)
    assert len(result.iterations) == 2


def test_a_budget_the_smallest_network_measurably_misses_is_refused_in_one_line(tmp_path):
    with pytest.raises(UserError) as refused:
        _prune(tmp_path, "5%", lambda *_: None)
    message = str(refused.value)
    assert "below what the smallest network on the channel grid reaches: it measures" in message
    measured = float(message.split("it measures ")[1].split()[0])
    start = float(message.split("the start measured ")[1].split()[0])
    assert 0.05 * start < measured < start and "\n" not in message
