import pytest

from netadapt.algorithm.selection import SELECTIONS, select_candidate


def _acc(info):
    return info["holdout_accuracy"]


CURRENT = {"measured_ms": 10.0, "holdout_accuracy": 0.80}
# a small cut that keeps accuracy, and a big cut that loses more in all but per millisecond saved
SMALL = {"group": "a", "holdout_accuracy": 0.79, "predicted_ms": 9.5}    # -0.01 for 0.5 ms: -0.02 / ms
BIG = {"group": "b", "holdout_accuracy": 0.76, "predicted_ms": 7.0}      # -0.04 for 3.0 ms: -0.0133 / ms
STEEP = {"group": "c", "holdout_accuracy": 0.70, "predicted_ms": 8.0}    # -0.10 for 2.0 ms: -0.05 / ms


def test_accuracy_keeps_the_best_score():
    assert select_candidate([SMALL, BIG, STEEP], CURRENT, "accuracy", _acc)["group"] == "a"


def test_efficiency_keeps_the_least_loss_per_ms_saved():
    assert select_candidate([SMALL, BIG, STEEP], CURRENT, "efficiency", _acc)["group"] == "b"
    # without the big cut, the small one loses less per ms than the steep one
    assert select_candidate([SMALL, STEEP], CURRENT, "efficiency", _acc)["group"] == "a"


def test_efficiency_reads_the_score_it_is_given():
    # ranked by cross-entropy (value = -loss): the big cut's loss rises 0.9 for 3 ms, the small one's 0.5 for 0.5
    loss = {"a": 1.0, "b": 1.4, "cur": 0.5}
    current = {**CURRENT, "group": "cur"}
    chosen = select_candidate([SMALL, BIG], current, "efficiency", lambda c: -loss[c["group"]])
    assert chosen["group"] == "b"


def test_efficiency_counts_ms_saved_only_down_to_the_stop_line():
    # the run stops under 8.5 ms: the big cut saves 1.5 ms that count (-0.0267 / ms), less than the small one
    assert select_candidate([SMALL, BIG, STEEP], CURRENT, "efficiency", _acc, stop_ms=8.5)["group"] == "a"
    # a line under every candidate changes nothing
    assert select_candidate([SMALL, BIG, STEEP], CURRENT, "efficiency", _acc, stop_ms=6.0)["group"] == "b"
    # in the step that reaches the line every candidate saves the same: the best score is kept
    assert select_candidate([BIG, STEEP], CURRENT, "efficiency", _acc, stop_ms=9.0)["group"] == "b"
    close = {"group": "g", "holdout_accuracy": 0.78, "predicted_ms": 8.9}
    assert select_candidate([BIG, STEEP, close], CURRENT, "efficiency", _acc, stop_ms=9.0)["group"] == "g"


def test_accuracy_ties_go_to_the_faster_then_the_first_candidate():
    twin = {**SMALL, "group": "d", "predicted_ms": 9.0}
    assert select_candidate([SMALL, twin], CURRENT, "accuracy", _acc)["group"] == "d"
    same = {**SMALL, "group": "e"}
    assert select_candidate([SMALL, same], CURRENT, "accuracy", _acc)["group"] == "a"


def test_a_candidate_predicted_no_faster_does_not_divide_by_zero():
    level = {"group": "f", "holdout_accuracy": 0.80, "predicted_ms": 10.0}
    assert select_candidate([level, BIG], CURRENT, "efficiency", _acc)["group"] == "f"


def test_unknown_selection_and_empty_list_are_errors():
    assert SELECTIONS == ("accuracy", "efficiency")
    with pytest.raises(ValueError, match="unknown selection"):
        select_candidate([SMALL], CURRENT, "fastest", _acc)
    with pytest.raises(ValueError, match="no feasible"):
        select_candidate([], CURRENT, "accuracy", _acc)
