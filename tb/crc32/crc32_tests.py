"""CRC-32 unit tests (TEST= names, as in tb/crc32/block.yaml)."""

from __future__ import annotations

from cocotb.triggers import Timer
from hypothesis import strategies as st
from pyuvm import uvm_factory

from asicdv.testbench import clocking, uvm
from tb.crc32.env import ByteDriver, Crc32BaseTest, Crc32Driver, MessageItem

# Lengths around whole words (the core takes 1..4 bytes per `next`).
MESSAGES = st.one_of(st.sampled_from([0, 1, 3, 4, 5, 7, 8, 9, 63, 64, 65]), st.integers(0, 80)).flatmap(
    lambda n: st.binary(min_size=n, max_size=n)
)


@uvm.test()
class CheckValueTest(Crc32BaseTest):
    """The catalogue check value of "123456789", the empty message, one byte."""

    async def stimulus(self):
        await self.send(*[MessageItem(f"m{i}", m) for i, m in enumerate([b"123456789", b"", b"a", bytes(4)])])


@uvm.test()
class RandomMessagesTest(Crc32BaseTest):
    """Hypothesis: messages of 0..80 bytes (whole and partial words) vs the model."""

    examples = 100

    async def one(self, message: bytes) -> None:
        await self.send(MessageItem("prop", message))

    async def stimulus(self):
        await self.check_property(
            MESSAGES,
            self.one,
            examples=self.examples,
            describe=lambda m: m.hex() or "(empty)",
            label=lambda m: "partial last word" if len(m) % 4 else "whole words",
        )


@uvm.test()
class StallsTest(RandomMessagesTest):
    """The same with random idle cycles between words."""

    stalls = True
    examples = 40


@uvm.test()
class ByteAtATimeTest(RandomMessagesTest):
    """The random messages fed one byte per `next`: the same test with the driver swapped
    through pyuvm's factory (the env builds its driver with `.create()`)."""

    examples = 40

    def build_phase(self):
        uvm_factory().set_type_override_by_type(Crc32Driver, ByteDriver)
        super().build_phase()


@uvm.test()
class ResetMidMessageTest(Crc32BaseTest):
    """Reset while a word is being absorbed, then a correct CRC of a new message."""

    async def stimulus(self):
        self.bfm.dut.data.value, self.bfm.dut.nbytes.value, self.bfm.dut.next.value = 0x12345678, 4, 1
        await Timer(clocking.PERIOD_NS * self.rng.randint(1, 4), "ns")
        await self.bfm.reset()
        self.bfm.dut.next.value = 0
        await self.send(
            MessageItem("after_reset", bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(0, 30))))
        )
