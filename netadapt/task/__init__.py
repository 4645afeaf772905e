"""The user's task: model, example inputs, training loop and metric (``netadapt.Task``)."""

from netadapt.task.base import Task

__all__ = ["Task"]
