"""CRC-32 unit environment: a message item, the driver's init/next loop, a scoreboard vs the model."""

from __future__ import annotations

from pyuvm import uvm_sequence_item

from asicdv.testbench.bfm import Bfm
from asicdv.testbench.handshake import StartDone, pulse
from asicdv.testbench.stream import idle_cycles, no_pauses
from asicdv.testbench.uvm import BlockEnv, BlockTest, ItemDriver, ScoreboardComponent
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

    async def crc(self, message: bytes) -> int:
        await pulse(self.clk, self.dut.init)
        for word, count in model.words(message):
            await idle_cycles(self.clk, self.period_ns, next(self.idles))
            await self.core.start(self.dut.next, {self.dut.data: word, self.dut.nbytes: count})
        return (await self.core.result({"crc": self.dut.crc}))["crc"]


class MessageItem(uvm_sequence_item):
    def __init__(self, name: str, message: bytes):
        super().__init__(name)
        self.message = message
        self.crc: int | None = None


class Crc32Driver(ItemDriver):
    async def drive(self, item: MessageItem) -> None:
        item.crc = await self.bfm.within(self.bfm.crc(item.message), 10 * len(item.message) + 50, "the CRC")


class CrcScoreboard(ScoreboardComponent):
    def write(self, item: MessageItem):
        coverage.sample_message(item.message)
        self.board.expect(model.crc32(item.message), context=item.message)
        self.board.observe(item.crc)


class Crc32Env(BlockEnv):
    driver_class = Crc32Driver
    components = {"scoreboard": CrcScoreboard}
    connections = (("driver.ap", "scoreboard"),)


class Crc32BaseTest(BlockTest):
    bfm_class = Crc32Bfm
    env_class = Crc32Env
