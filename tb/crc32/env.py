"""CRC-32 unit environment: a message item, the driver's init/next loop, a scoreboard vs the model."""

from __future__ import annotations

from pyuvm import uvm_sequence_item

from asicdv.testbench.bfm import Bfm
from asicdv.testbench.handshake import StartDone, pulse
from asicdv.testbench.stream import idle_cycles, no_pauses
from asicdv.testbench.uvm import BlockEnv, BlockTest, CoverageComponent, ItemDriver, ScoreboardComponent
from models import crc32 as model
from tb.crc32 import coverage


class Crc32Bfm(Bfm):
    """init pulse, one `next` per word of up to 4 bytes (while ready), the CRC when crc_valid."""

    def __init__(self, dut, rng=None, stalls: bool = False):
        super().__init__(dut, rng, stalls)
        for strobe in (dut.init, dut.next):
            strobe.value = 0  # inputs start at random values (--x-initial unique) until driven
        self.core = StartDone(self.clk, dut.ready, dut.crc_valid)
        self.idles = self.pauses(0.5, 5) or no_pauses()

    async def crc(self, message: bytes, words=model.words) -> int:
        """The CRC of `message`, fed as `words(message)` ((data word, byte count) pairs)."""
        await pulse(self.clk, self.dut.init)
        for word, count in words(message):
            await idle_cycles(self.clk, self.period_ns, next(self.idles))
            await self.core.start(self.dut.next, {self.dut.data: word, self.dut.nbytes: count})
        return (await self.core.result({"crc": self.dut.crc}))["crc"]


class MessageItem(uvm_sequence_item):
    def __init__(self, name: str, message: bytes):
        super().__init__(name)
        self.message = message
        self.crc: int | None = None


class Crc32Driver(ItemDriver):
    """Feeds each message as whole words of up to 4 bytes."""

    def words(self, message: bytes) -> list[tuple[int, int]]:
        return model.words(message)

    async def drive(self, item: MessageItem) -> None:
        crc = self.bfm.crc(item.message, self.words)
        item.crc = await self.bfm.within(crc, 10 * len(item.message) + 50, "the CRC")


class ByteDriver(Crc32Driver):
    """Feeds one byte per `next` (nbytes = 1): a factory override of Crc32Driver."""

    def words(self, message: bytes) -> list[tuple[int, int]]:
        return [(byte, 1) for byte in message]


class CrcScoreboard(ScoreboardComponent):
    def write(self, item: MessageItem):
        self.board.expect(model.crc32(item.message), context=item.message)
        self.board.observe(item.crc)


class MessageCoverage(CoverageComponent):
    def write(self, item: MessageItem):
        coverage.sample_message(item.message)


class Crc32Env(BlockEnv):
    driver_class = Crc32Driver
    components = {"scoreboard": CrcScoreboard, "coverage": MessageCoverage}
    connections = (("driver.ap", "scoreboard"), ("driver.ap", "coverage"))


class Crc32BaseTest(BlockTest):
    bfm_class = Crc32Bfm
    env_class = Crc32Env
