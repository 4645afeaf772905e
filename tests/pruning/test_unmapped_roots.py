"""A root whose channels torch-pruning could not follow is not followed again when the analysis is told so."""

from torch import nn

from netadapt.pruning import analyze, dependency
from netadapt.pruning.graph import UNMAPPED, unmapped_of


def test_the_reason_round_trips():
    frozen = {"a": f"{UNMAPPED} (the mappings do not settle (a cycle))", "b": "it changes the outputs of head"}
    assert unmapped_of(frozen) == {"a": "the mappings do not settle (a cycle)"}
    assert unmapped_of(None) == {}


def test_a_known_unmapped_root_is_reported_without_being_followed(monkeypatch):
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.ReLU(), nn.Conv2d(8, 6, 1), nn.ReLU(), nn.Conv2d(6, 4, 1)).eval()
    shape = (1, 3, 8, 8)
    first = analyze(model, shape, validate=False)
    assert first.sizes() == {"0": 8, "2": 6} and first.frozen == {}
    followed = []
    real = dependency.tp.DependencyGraph.get_pruning_group

    def spy(self, module, *args, **kwargs):
        followed.append(module)
        return real(self, module, *args, **kwargs)

    monkeypatch.setattr(dependency.tp.DependencyGraph, "get_pruning_group", spy)
    # as a run passes the groups its first analysis froze (the real case: torchvision's ShuffleNetV2, whose
    # 12 roots behind channel shuffles grow to the bound before they fail, 1.4 s of a 3.3 s analysis)
    reason = f"{UNMAPPED} (the channel index mappings do not settle (a cycle through a reshape))"
    again = analyze(model, shape, validate=False, frozen={"2": reason})
    assert again.sizes() == {"0": 8} and again.frozen == {"2": reason}
    assert model[2] not in followed and model[0] in followed
