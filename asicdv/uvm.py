"""pyuvm pieces every block's environment shares."""

from __future__ import annotations

from pyuvm import uvm_sequence, uvm_subscriber


class ItemsSeq(uvm_sequence):
    """Sends the given sequence items in order; body returns when the driver has done them all."""

    def __init__(self, name: str, items: list):
        super().__init__(name)
        self.items = items

    async def body(self):
        for item in self.items:
            await self.start_item(item)
            await self.finish_item(item)


class Forward(uvm_subscriber):
    """One analysis input of a component that has several: forwards each write to a method."""

    def __init__(self, name: str, parent, method):
        super().__init__(name, parent)
        self.method = method

    def write(self, transaction):
        self.method(transaction)
