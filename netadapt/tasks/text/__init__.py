"""A token-input task: a small transformer encoder on digits read as token sequences (``make_task``)."""

from netadapt.tasks.text.task import make_task

__all__ = ["make_task"]
