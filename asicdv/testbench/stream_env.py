"""A ready-made environment for a design whose ports are streams (what `asicdv new-block` writes
an env.py around): input streams driven by sources, output streams taken by sinks, and one
scoreboard per output stream against a model function.

- `StreamBfm`: sources for `inputs`, sinks for `outputs` (bound as block.yaml's `streams`
  declares them, else by naming convention), `tied` inputs held idle.
- `BeatItem` / `BeatDriver`: one beat on a named input stream.
- `SinkMonitor`: publishes every beat an output stream's sink takes.
- `ModelScoreboard`: for each input beat, `model(stream, beat)` returns the output beats the
  design owes ({output stream: [beats]}); each output stream's beats are compared in order.
  A beat that comes out before the input that caused it was published (a combinational path)
  waits for its expectation instead of being an error.
- `StreamTest`: `play(stream, beats)` sends beats and waits until every expected output came.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from cocotb.triggers import Event
from pyuvm import ConfigDB, uvm_analysis_port, uvm_component, uvm_sequence_item, uvm_subscriber

from asicdv.testbench.bfm import Bfm
from asicdv.testbench.scoreboard import Scoreboard
from asicdv.testbench.stream import StreamSink, StreamSource
from asicdv.testbench.uvm import BfmComponent, BlockEnv, BlockTest, ItemDriver


class StreamBfm(Bfm):
    inputs: tuple[str, ...] = ()  # streams the testbench drives
    outputs: tuple[str, ...] = ()  # streams the design drives
    tied: tuple[str, ...] = ()  # inputs no stream owns: held at their idle level (Bfm.tie_off)
    settle_signals: tuple[str, ...] = ()  # outputs a smoke test checks settle (Bfm.settle)

    def __init__(self, dut, rng=None, stalls: bool = False):
        super().__init__(dut, rng, stalls)
        self.tie_off(*self.tied)
        self.by_name: dict[str, StreamSource | StreamSink] = {}
        for name in self.inputs:
            self.by_name[name] = self.add_source(name, self.pauses())
        for name in self.outputs:
            self.by_name[name] = self.add_sink(name, self.pauses())


class BeatItem(uvm_sequence_item):
    """One beat (field -> value) on the input stream `stream`."""

    def __init__(self, stream: str, beat: dict[str, int]):
        super().__init__(f"{stream} beat")
        self.stream, self.beat = stream, beat

    def __str__(self) -> str:
        return f"{self.stream} {self.beat}"


class BeatDriver(ItemDriver):
    async def drive(self, item: BeatItem) -> None:
        if item.stream not in self.bfm.inputs:
            raise KeyError(f"no input stream {item.stream!r}; inputs: {', '.join(self.bfm.inputs) or 'none'}")
        await self.bfm.by_name[item.stream].send(item.beat)


class SinkMonitor(BfmComponent):
    """Publishes (stream, beat) for every beat the output stream `stream`'s sink takes."""

    stream: str = ""

    def build_phase(self):
        super().build_phase()
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        sink = self.bfm.by_name[self.stream]
        while True:
            self.ap.write((self.stream, await sink.recv()))


class PairingBoard(Scoreboard):
    """In-order Scoreboard whose observations may come before their expectations (same edge)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.early: deque[Any] = deque()

    def expect(self, value: Any, context: Any = None) -> None:
        super().expect(value, context)
        if self.early:
            super().observe(self.early.popleft())

    def observe(self, actual: Any) -> bool:
        if not self.expected:
            self.early.append(actual)
            return True
        return super().observe(actual)

    def owes(self) -> bool:
        return bool(self.expected)

    def clear(self) -> None:
        super().clear()
        self.early.clear()

    def check(self, *, drained: bool = True) -> None:
        while self.early:  # nothing predicted them
            super().observe(self.early.popleft())
        super().check(drained=drained)


class _Input(uvm_subscriber):
    """One of the scoreboard's two analysis inputs: forwards each write to a method."""

    def __init__(self, name: str, parent, method):
        super().__init__(name, parent)
        self.method = method

    def write(self, transaction):
        self.method(transaction)


class ModelScoreboard(uvm_component):
    """Input beats (from the driver) through `model`; each output stream's beats vs its board.
    `model` is set by StreamEnv (the env's own `model`) before the build phase."""

    model: Callable[[str, dict[str, int]], dict[str, list[dict[str, int]]]] = staticmethod(lambda stream, beat: {})

    def build_phase(self):
        self.bfm = _config_bfm(self)
        self.inputs = _Input("inputs", self, self.predict)
        self.outputs = _Input("outputs", self, self.arrived)
        self.boards: dict[str, PairingBoard] = {}
        for name in self.bfm.outputs:
            board = PairingBoard(f"{self.get_full_name()}.{name}")
            self.boards[name] = board
            setattr(self, f"board_{name}", board)  # BlockTest.check() finds the boards by attribute
        self.changed = Event()

    def predict(self, item: BeatItem) -> None:
        owed = self.model(item.stream, dict(item.beat)) or {}
        unknown = set(owed) - set(self.boards)
        if unknown:
            raise KeyError(f"the model returned beats for {', '.join(sorted(unknown))}, not output streams")
        for name, beats in owed.items():
            for beat in beats:
                self.boards[name].expect(beat, context={item.stream: item.beat})
        self.changed.set()

    def arrived(self, transaction) -> None:
        name, beat = transaction
        self.boards[name].observe(beat)
        self.changed.set()

    def owes(self) -> bool:
        return any(board.owes() for board in self.boards.values())


class StreamEnv(BlockEnv):
    """The driver, a SinkMonitor per output stream and the ModelScoreboard, wired."""

    driver_class = BeatDriver
    model: Callable = staticmethod(lambda stream, beat: {})

    def build_phase(self):
        super().build_phase()
        bfm = _config_bfm(self)
        self.scoreboard = ModelScoreboard.create("scoreboard", self)  # through the factory: overridable
        self.scoreboard.model = type(self).model
        self.monitors = {}
        for name in bfm.outputs:
            monitor = SinkMonitor.create(f"{name}_monitor", self)
            monitor.stream = name
            self.monitors[name] = monitor

    def connect_phase(self):
        super().connect_phase()
        self.driver.ap.connect(self.scoreboard.inputs.analysis_export)
        for monitor in self.monitors.values():
            monitor.ap.connect(self.scoreboard.outputs.analysis_export)


def _config_bfm(component):
    return ConfigDB().get(component, "", "BFM")


class StreamTest(BlockTest):
    """A StreamEnv's test: `play` beats into an input stream and wait for what the model owes."""

    async def play(self, stream: str, beats: list[dict[str, int]], cycles_per_beat: int = 50) -> None:
        await self.send(*[BeatItem(stream, beat) for beat in beats])
        await self.bfm.within(self._outputs_came(), cycles_per_beat * (len(beats) + 1), "the expected output beats")

    async def _outputs_came(self) -> None:
        board = self.env.scoreboard
        while board.owes():
            board.changed.clear()
            await board.changed.wait()
