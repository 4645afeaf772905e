"""Time on a farm of boards (``devices.farm``): node timings spread over the boards, whole models on one.

Node keys form a work queue: each board's worker takes the next key when its last measurement came back,
so a faster board does more of them. A board that stops answering is retired and the key it held goes
back to the queue for the others; a measurement is handed on (and stored) only once it came back whole.
Whole-model timings and paired comparisons run on the farm's model board alone, so the two times of a pair,
and every time a ratio is formed from, come from one board.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from typing import Iterable, Iterator

from devices.errors import DeviceUnavailable
from lut.nodekey import NodeKey
from lut.stats import Stats
from profilers.base import ProfileConfig, Profiler
from profilers.remote_profiler import RemoteProfiler, remote_timer


class FarmProfiler(Profiler):
    """Times on a ``FarmDevice``: one ``RemoteProfiler`` per board.

    Args:
        device: the farm.
        config: warm-up, repeats and overhead handling (every board's).

    Attributes:
        nodes_by_board: board URL -> node measurements it returned.
    """

    def __init__(self, device, config: ProfileConfig | None = None):
        self.device = device
        self.config = config or ProfileConfig()
        self.boards = {id(board): RemoteProfiler(board, self.config) for board in device.boards}
        self.nodes_by_board = {board.base: 0 for board in device.boards}  # nodes each board measured

    # The counters are the sums of the boards' (``Profiler``'s attributes).
    @property
    def wall_seconds(self) -> float:
        return sum(p.wall_seconds for p in self.boards.values())

    @property
    def timed_seconds(self) -> float:
        return sum(p.timed_seconds for p in self.boards.values())

    @property
    def timed_wall_seconds(self) -> float:
        """The wall time the timed runs took, boards working side by side: their mean per board."""
        return self.timed_seconds / len(self.boards)

    @property
    def retaken(self) -> int:
        return sum(p.retaken for p in self.boards.values())

    @property
    def parallel(self) -> int:
        """How many boards take node keys now."""
        return len(self.device.live())

    def on(self, board) -> RemoteProfiler:
        """The profiler of one board."""
        return self.boards[id(board)]

    def measure_many(self, keys: Iterable[NodeKey]) -> Iterator[tuple[NodeKey, Stats]]:
        """(key, statistics) of every key, in the order the measurements come back, spread over the live
        boards. Each is yielded as soon as it is whole, so the caller can store it before the next arrives.

        Raises:
            DeviceUnavailable: every board stopped answering before the keys were done.
            Any other error of a board (the agent refused a graph): at once, the other boards stopping
            after their measurement in flight.
        """
        todo = deque(dict.fromkeys(keys))
        total = len(todo)
        if not total:
            return
        boards = self.device.live()
        if not boards:
            self.device.model_board()  # raises why
        state = threading.Condition()
        busy = [0]  # keys in flight
        stop = threading.Event()
        results: queue.SimpleQueue = queue.SimpleQueue()

        def work(board) -> None:
            profiler = self.on(board)
            while True:
                with state:
                    while not todo and busy[0] and not stop.is_set():
                        state.wait()  # a key in flight elsewhere may come back if its board stops
                    if stop.is_set() or not todo:
                        break
                    key = todo.popleft()
                    busy[0] += 1
                try:
                    stats = profiler.measure_node(key)
                except DeviceUnavailable as exc:
                    with state:
                        todo.appendleft(key)
                        busy[0] -= 1
                        state.notify_all()
                    self.device.retire(board, exc)
                    results.put(("stopped", board, exc))
                    return
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    with state:
                        busy[0] -= 1
                        stop.set()
                        state.notify_all()
                    results.put(("failed", key, exc))
                    return
                with state:
                    busy[0] -= 1
                    self.nodes_by_board[board.base] += 1
                    state.notify_all()
                results.put(("done", key, stats))
            results.put(("finished", board, None))

        workers = [threading.Thread(target=work, args=(board,), daemon=True, name=f"farm-{board.base}")
                   for board in boards]
        for worker in workers:
            worker.start()
        running, done, last = len(workers), 0, None
        try:
            while done < total:
                if not running:
                    resume = "" if "Re-run" in str(last) else ". Re-run the command to resume"
                    raise DeviceUnavailable(f"every agent of the farm stopped answering with {total - done} of "
                                            f"{total} nodes left; the last: {last}{resume}")
                what, item, value = results.get()
                if what == "done":
                    done += 1
                    yield item, value
                elif what == "failed":
                    raise value
                else:
                    running -= 1
                    last = value if what == "stopped" else last
        finally:
            with state:
                stop.set()
                state.notify_all()

    def measure_node(self, key: NodeKey) -> Stats:
        for _, stats in self.measure_many([key]):
            return stats
        raise RuntimeError("no measurement came back")  # measure_many yields once or raises

    def measure_model(self, model, input_shape) -> Stats:
        return self.device.on_model_board(lambda board: self.on(board).measure_model(model, input_shape))

    def overhead_ms(self, shape: tuple[int, ...], dtype: str = "float32") -> float:
        """The model board's per-call cost of a session (each board subtracts its own from its samples)."""
        return self.device.on_model_board(lambda board: self.on(board).overhead_ms(shape, dtype))

    def model_timer(self, model, input_shape, seed: int = 0):
        """A paired-comparison timer on the model board. The second timer of a comparison goes where the first
        waits for it; if that board stopped answering, the comparison ends with its error rather than forming
        a ratio across two boards."""
        while True:
            board = self.device.model_board()
            partnered = board.waiting_timer is not None
            try:
                return remote_timer(board, model, input_shape, seed=seed)
            except DeviceUnavailable as exc:
                self.device.retire(board, exc)
                if partnered:
                    raise
