"""Settings of the commands that build a model and load a data set themselves (``netadapt train``,
``netadapt lottery``): which model, with which constructor arguments, on which data."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config.fields import check, setting


@dataclass(frozen=True)
class ModelSource:
    """A zoo model or a factory, and its constructor arguments."""

    model: str = setting("digits_cnn", "Zoo name or package.module:factory.")
    model_args: dict | None = setting(None, "Constructor arguments as a JSON object.", metavar="JSON")
    width_mult: float | None = setting(None, "Width multiplier (zoo models).", low=0, low_open=True)

    def __post_init__(self):
        check(self)

    def kwargs(self) -> dict:
        """The constructor arguments, with ``width_mult`` among them when given."""
        kwargs = dict(self.model_args or {})
        if self.width_mult is not None:
            kwargs["width_mult"] = self.width_mult
        return kwargs


@dataclass(frozen=True)
class DataSource:
    """A data set and how much of it is used."""

    data: str = setting("digits", "digits, synthetic[:opts], cifar10:<dir> or imagefolder:<dir>.")
    image_size: int | None = setting(None, "Resize images to this square size.", low=1)
    holdout: float = setting(0.1, "Images kept out of training for validation (fraction below 1, or a count).",
                             low=0)
    train_limit: int | None = setting(None, "Use at most this many training images.", low=1)
    test_limit: int | None = setting(None, "Use at most this many test images.", low=1)

    def __post_init__(self):
        check(self)

    def load_kwargs(self) -> dict:
        """The keywords of ``netadapt.data.load_data`` (a holdout of 1 or more is a count of images)."""
        holdout = int(self.holdout) if self.holdout >= 1 else self.holdout
        return {"image_size": self.image_size, "holdout": holdout, "train_limit": self.train_limit,
                "test_limit": self.test_limit}
