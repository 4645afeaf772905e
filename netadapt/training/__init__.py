"""Training from scratch, short-term fine-tuning, and evaluation."""

from netadapt.config.train import TrainConfig
from netadapt.training.batchnorm import recalibrate_batchnorm
from netadapt.training.evaluate import Scores, evaluate, score
from netadapt.training.fine_tune import fine_tune
from netadapt.training.state import load_rewind
from netadapt.training.train import TrainResult, train

__all__ = ["Scores", "TrainConfig", "TrainResult", "evaluate", "fine_tune", "load_rewind", "recalibrate_batchnorm",
           "score", "train"]
