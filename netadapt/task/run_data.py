"""A classification run's data: the data source's splits and the holdout that ranks candidates, loaded once per
process.

A task is pickled to every worker process that fine-tunes candidates; its data is not sent with it, but loaded
again by each worker the first time it is used.
"""

from __future__ import annotations

from netadapt.config.run import RunConfig


def run_data(config: RunConfig):
    """The run's data bundle and the holdout that ranks candidates (a seeded subset with ``eval_limit``)."""
    from netadapt.data import load_data
    from netadapt.data.splits import limit

    data = load_data(config.data, holdout=config.holdout, seed=config.split_seed)
    holdout = data.holdout
    if config.eval_limit is not None and config.eval_limit < len(holdout):
        # a random subset: the holdout is in class order for image folders
        holdout = limit(holdout, config.eval_limit, config.seed)
    return data, holdout


class RunData:
    """The data of a run's settings, loaded on first use.

    Args:
        config: the run's settings (data source, holdout, split seed, ``eval_limit``).
    """

    def __init__(self, config: RunConfig):
        self.config = config
        self._bundle = self._holdout = None

    @property
    def bundle(self):
        """The data source's splits (``train``, ``test``, its input shape and classes)."""
        if self._bundle is None:
            self._bundle, self._holdout = run_data(self.config)
        return self._bundle

    @property
    def holdout(self):
        """The holdout candidates are ranked on (a subset of the bundle's with ``eval_limit``)."""
        self.bundle  # noqa: B018 - loads both
        return self._holdout

    def __getstate__(self):
        return {**self.__dict__, "_bundle": None, "_holdout": None}  # a worker loads its own
