"""Training from scratch, short-term fine-tuning, and evaluation."""

from netadapt.training.config import TrainConfig
from netadapt.training.evaluate import evaluate
from netadapt.training.fine_tune import fine_tune
from netadapt.training.state import load_rewind
from netadapt.training.train import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "evaluate", "fine_tune", "load_rewind", "train"]
