"""How a task writes its networks to a run folder and rebuilds them: its checkpoint format.

The loop saves every iteration's network, every fine-tuned candidate and the final network through the task's
:class:`CheckpointFormat` (``task.checkpoints``), loads the chosen one back, and a worker process rebuilds each
candidate it is sent from its channel counts and state dict. Two formats: :class:`ZooCheckpoints`, whose files
name a zoo or factory model and rebuild alone (``netadapt.load(run_dir)``), and :class:`TaskCheckpoints`, whose
files rebuild only from the user's model (``netadapt.load(run_dir, MyModel())``).
"""

from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from pathlib import Path

from torch import nn

from netadapt.models.spec import ModelSpec
from netadapt.pruning import analyze, apply_channels
from netadapt.pruning.graph import NetworkGraph
from netadapt.task.calls import qualified_name

#: The spec of checkpoints of a user's model: they rebuild only with the model given again (``netadapt.load``).
TASK_SPEC = "task"


class BaseAnalysis:
    """The analysis of a format's unpruned network, kept for the last key asked (the architecture, inputs and
    frozen groups): every network a run loads is that one shrunk, so it is analysed once, not per load."""

    def __init__(self):
        self._key, self._graph = None, None

    def base(self, key, analyse) -> NetworkGraph:
        if self._graph is None or self._key != key:
            self._key, self._graph = key, analyse()
        return self._graph

    @staticmethod
    def of(owner) -> BaseAnalysis:
        """``owner``'s, made on first use (a subclass whose ``__init__`` does not call its parent's has none)."""
        return owner.__dict__.setdefault("_bases", BaseAnalysis())


class CheckpointFormat(ABC):
    """Writes a task's networks and builds them again."""

    @abstractmethod
    def save(self, path: Path, state: dict, channels: dict[str, int], extra: dict | None = None) -> None:
        """Write a network's checkpoint: its state dict and its groups' channel counts."""

    @abstractmethod
    def load(self, path: Path) -> nn.Module:
        """Rebuild the network a checkpoint written by ``save`` holds (eval mode)."""

    @abstractmethod
    def build(self, channels: dict[str, int], state: dict) -> nn.Module:
        """The network of these channel counts with ``state`` loaded (eval mode): how a worker rebuilds a
        candidate."""

    def load_analysed(self, path: Path, frozen: dict[str, str]) -> tuple[nn.Module, NetworkGraph | None]:
        """``load``'s network and, where rebuilding it analyses it anyway, that analysis (groups in ``frozen``
        frozen; else None): how the loop loads the candidate it keeps without analysing it twice."""
        return self.load(path), None


class ZooCheckpoints(CheckpointFormat):
    """Checkpoints of a zoo or factory model: they record its spec and input shape, and rebuild from them.

    Attributes:
        spec: the model's spec (set once the run has its start model, or by loading a checkpoint).
        input_shape: the shape latency is measured at (set when the task is checked).
    """

    def __init__(self, spec: ModelSpec | None = None, input_shape: tuple | None = None):
        self.spec = spec
        self.input_shape = input_shape

    def save(self, path, state, channels, extra=None) -> None:
        from netadapt.checkpoint import save_state

        save_state(path, state, self.spec, self.input_shape, channels=channels, extra=extra)

    def load(self, path) -> nn.Module:
        from netadapt.checkpoint import load_checkpoint

        loaded = load_checkpoint(path)
        self.spec = loaded.spec
        return loaded.model

    def build(self, channels, state) -> nn.Module:
        from netadapt.checkpoint import build_model

        return build_model(self.spec, self.input_shape, channels, state)

    def load_analysed(self, path, frozen):
        from netadapt.checkpoint import load_weights, read_checkpoint, stored_inputs

        data = read_checkpoint(path)
        self.spec = ModelSpec.from_dict(data["spec"])
        inputs = stored_inputs(data)
        model = self.spec.build()
        key = (json.dumps(data["spec"], sort_keys=True, default=str), repr(inputs), sorted(frozen.items()))
        base = BaseAnalysis.of(self).base(key, lambda: analyze(model, inputs, validate=False, frozen=frozen))
        graph = apply_channels(model, inputs, dict(data.get("channels") or {}), frozen, base)
        load_weights(model, data["state_dict"])
        return model.eval(), graph


class TaskCheckpoints(CheckpointFormat):
    """Checkpoints of a user's model: channel counts and weights, rebuilt as shrunk copies of that model.

    Args:
        model: netadapt's copy of the user's model (never changed).
        input_shape: the example inputs (``netadapt.inputs.ExampleInputs``).
    """

    def __init__(self, model: nn.Module, input_shape):
        self.model = model
        self.input_shape = input_shape

    def save(self, path, state, channels, extra=None) -> None:
        from netadapt.checkpoint import save_state

        spec = ModelSpec(TASK_SPEC, {"class": qualified_name(self.model)})
        save_state(path, state, spec, self.input_shape, channels=channels, extra=extra)

    def load(self, path) -> nn.Module:
        from netadapt.checkpoint import read_checkpoint

        data = read_checkpoint(path)
        return self.build(data.get("channels") or {}, data["state_dict"])

    def build(self, channels, state) -> nn.Module:
        """A copy of the model shrunk to ``channels`` with ``state`` loaded, in eval mode."""
        from netadapt.checkpoint import load_weights

        model = copy.deepcopy(self.model)
        if channels:
            apply_channels(model, self.input_shape, channels)
        load_weights(model, state)
        return model.eval()

    def load_analysed(self, path, frozen):
        from netadapt.checkpoint import load_weights, read_checkpoint

        data = read_checkpoint(path)
        model = copy.deepcopy(self.model)
        base = BaseAnalysis.of(self).base(sorted(frozen.items()),
                                lambda: analyze(model, self.input_shape, validate=False, frozen=frozen))
        graph = apply_channels(model, self.input_shape, dict(data.get("channels") or {}), frozen, base)
        load_weights(model, data["state_dict"])
        return model.eval(), graph
