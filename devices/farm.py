"""A farm of boards: several agents of one kind of device, named ``remote:URL1,URL2,...``.

Every board runs ``netadapt agent``; the farm is one device whose fingerprint is the boards' common one,
so its table rows are those one board of them would store. Boards that report different fingerprints are
refused with one line naming two of them. Node timings are spread over the boards
(``profilers.farm.FarmProfiler``); the graph a model runs as, whole-model timings and paired comparisons go
to one board at a time (the *model board*), so a ratio is never formed across two boards. A board that
stops answering is retired: its work goes to the others, and the next live board takes over the models.
"""

from __future__ import annotations

import logging
import threading

from devices.base import Device
from devices.errors import DeviceUnavailable
from devices.remote import PREFIX, RemoteDevice
from lut.errors import UserError

log = logging.getLogger(__name__)

# Fingerprint fields named when two boards differ (the first few that do).
_SHOWN_DIFFERENCES = 2


def split_urls(name: str) -> list[str]:
    """The agent URLs of a ``remote:`` device name: one for a single board, several for a farm."""
    text = name.removeprefix(PREFIX)
    return [part.strip() for part in text.split(",")] if "," in text else [text]


class FarmDevice(Device):
    """Several boards reached through their agents, timed as one device.

    Args:
        urls: the agents' URLs (``http://HOST:PORT[?provider=...]`` each; the ``remote:`` prefix may be
            left out), two or more, each once.
        threads: intra-op threads of every agent's sessions.

    Attributes:
        boards: one ``RemoteDevice`` per URL, in the order given.
    """

    name = "remote"
    profiler_kind = "farm"

    def __init__(self, urls: list[str], threads: int = 1):
        if len(urls) < 2:
            raise UserError("a farm needs two or more agent URLs, separated by commas")
        if any(not url for url in urls):
            raise UserError(f"remote device {','.join(urls)!r} has an empty URL between its commas")
        self.boards = [RemoteDevice(url, threads=threads) for url in urls]
        bases = [board.base for board in self.boards]
        twice = next((b for i, b in enumerate(bases) if b in bases[:i]), None)
        if twice is not None:
            raise UserError(f"remote device lists the agent at {twice} twice: give each board once")
        self.threads = int(threads)
        self._lock = threading.Lock()
        self._retired: dict[int, str] = {}  # board index -> why it was retired
        self._fingerprint: dict | None = None

    # ---- boards ----

    def live(self) -> list[RemoteDevice]:
        """The boards not retired, in the order given."""
        with self._lock:
            return [b for i, b in enumerate(self.boards) if i not in self._retired]

    def retire(self, board: RemoteDevice, why: BaseException | str) -> None:
        """Take ``board`` out of the farm (it stopped answering); its work goes to the others."""
        with self._lock:
            index = self.boards.index(board)
            if index in self._retired:
                return
            self._retired[index] = str(why)
            left = len(self.boards) - len(self._retired)
        log.warning("the agent at %s stopped answering; %d of %d boards go on with its work", board.base, left,
                    len(self.boards))

    def model_board(self) -> RemoteDevice:
        """The board that runs whole models and optimises graphs: the first live one.

        Raises:
            DeviceUnavailable: every board is retired (the last one's reason).
        """
        live = self.live()
        if live:
            return live[0]
        with self._lock:
            last = self._retired[max(self._retired)] if self._retired else "no boards"
        raise DeviceUnavailable(f"every agent of the farm stopped answering; the last: {last}")

    def on_model_board(self, work):
        """``work(board)`` on the model board, moving to the next live board when it stops answering."""
        while True:
            board = self.model_board()
            try:
                return work(board)
            except DeviceUnavailable as exc:
                self.retire(board, exc)

    def _check(self) -> dict:
        """Every board's fingerprint, checked equal; the common one.

        Raises:
            DeviceUnavailable: a board cannot be reached or lacks the provider.
            UserError: two boards report different fingerprints.
        """
        if self._fingerprint is None:
            for board in self.boards:
                ok, why = board.available()
                if not ok:
                    raise DeviceUnavailable(why if board.base in why else f"the agent at {board.base}: {why}")
            prints = [(board, board.fingerprint()) for board in self.boards]
            first, fp = prints[0]
            for board, other in prints[1:]:
                if other != fp:
                    raise UserError(f"the agents at {first.base} and {board.base} report different devices "
                                    f"({_differences(fp, other)}): a farm takes boards of one fingerprint")
            self._fingerprint = fp
        return dict(self._fingerprint)

    # ---- Device ----

    def available(self) -> tuple[bool, str]:
        try:
            self._check()
        except UserError as exc:
            return False, str(exc)
        return True, ""

    def fingerprint(self) -> dict[str, str | int]:
        """The boards' common fingerprint (a single board's, marked remote)."""
        return self._check()

    def create_session(self, model: bytes | str, optimization: str | None = None):
        raise DeviceUnavailable("a farm runs models on its agents; time them with its profiler")

    def optimize(self, model: bytes, weights: bool = True):
        """The model board's optimised graph (every board runs the same, having one fingerprint)."""
        return self.on_model_board(lambda board: board.optimize(model, weights))

    def inspection_session(self, model: bytes):
        return FarmInspection(self, bytes(model))

    def __repr__(self) -> str:
        return f"FarmDevice({[b.base for b in self.boards]!r}, threads={self.threads})"


class FarmInspection:
    """A ``RemoteInspection`` on the model board, moved to the next live board when that one stops."""

    def __init__(self, farm: FarmDevice, model: bytes):
        self.farm, self.model = farm, model
        self._on = farm.model_board()
        self._session = self._on.inspection_session(model)

    def get_inputs(self):
        return self._session.get_inputs()

    def get_outputs(self):
        return self._session.get_outputs()

    def run(self, output_names, feeds: dict):
        def work(board):
            if board is not self._on:
                self._on, self._session = board, board.inspection_session(self.model)
            return self._session.run(output_names, feeds)

        return self.farm.on_model_board(work)


def _differences(a: dict, b: dict) -> str:
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    shown = ", ".join(f"{k} {a.get(k)!r} against {b.get(k)!r}" for k in keys[:_SHOWN_DIFFERENCES])
    return shown + (f" and {len(keys) - _SHOWN_DIFFERENCES} more" if len(keys) > _SHOWN_DIFFERENCES else "")
