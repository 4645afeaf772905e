"""Where an iteration's wall time went, as a rule on its recorded seconds."""

import pytest

from netadapt.algorithm.timer import split


def test_search_is_what_is_left_of_the_wall_time():
    parts = split({"wall": 10.0, "search": 3.0, "prune": 0.5, "finetune": 4.0, "evaluate": 1.0,
                   "export_measure": 1.5})
    assert parts == {"search": 3.5, "finetune": 4.0, "score": 1.0, "measure": 1.5, "wall": 10.0}


def test_workers_count_with_the_wall_time_their_candidates_took():
    # two workers fine-tuned 8 s and scored 2 s between them in 5 s of wall time
    parts = split({"wall": 9.0, "finetune": 8.0, "evaluate": 2.0, "candidates_wall": 5.0, "export_measure": 1.0})
    assert parts["finetune"] == pytest.approx(4.0) and parts["score"] == pytest.approx(1.0)
    assert parts["search"] == pytest.approx(3.0)


def test_an_iteration_recorded_before_wall_times_has_no_split():
    assert split({"search": 1.0, "finetune": 2.0}) == {}
