"""Hypothesis's bridge into the scheduler, without a simulator: the greenlet bridge under asyncio
(it only awaits what it is handed), the logged rate line, the coverage hit count."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asicdv.testbench.greenlet_bridge import run_blocking, wait
from asicdv.testbench.property_rate import parse_rates, rate_line


async def double_later(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


async def fail_later(text: str) -> None:
    await asyncio.sleep(0)
    raise AssertionError(text)


def test_blocking_code_awaits_through_the_bridge_and_returns():
    def blocking() -> list[int]:
        return [wait(double_later(i)) for i in range(5)]

    assert asyncio.run(run_blocking(blocking)) == [0, 2, 4, 6, 8]


def test_an_awaited_error_is_raised_in_the_blocking_code_and_can_be_handled():
    def blocking() -> str:
        try:
            wait(fail_later("DUT says no"))
        except AssertionError as exc:
            return f"caught {exc}"
        return "not raised"

    assert asyncio.run(run_blocking(blocking)) == "caught DUT says no"


def test_an_unhandled_error_leaves_run_blocking():
    def blocking() -> None:
        wait(fail_later("unhandled"))

    with pytest.raises(AssertionError, match="unhandled"):
        asyncio.run(run_blocking(blocking))


def test_hypothesis_shrinks_through_the_bridge():
    """The same shape as check_property: @given in the greenlet, each example awaited outside."""
    seen: list[int] = []

    async def drive(x: int) -> None:
        await asyncio.sleep(0)
        seen.append(x)
        assert x < 1000

    @settings(max_examples=200, database=None, derandomize=True)
    @given(st.integers(0, 10**6))
    def prop(x: int) -> None:
        wait(drive(x))

    with pytest.raises(AssertionError):
        asyncio.run(run_blocking(prop))
    assert 1000 in seen  # shrunk to the smallest failing input, each try run through the bridge


def test_wait_outside_the_bridge_is_an_error():
    coroutine = double_later(1)
    with pytest.raises(RuntimeError, match="run_blocking"):
        wait(coroutine)
    coroutine.close()


def test_rate_line_reads_back_from_a_log():
    log = (
        "273400.00ns INFO     asicdv.hypothesis                  "
        + rate_line("RandomMessagesTest", 150, 0.3)
        + "\n 1.00ns INFO     asicdv.hypothesis                  "
        + rate_line("RandomJobsTest [anywhere, many hits, 2 midstates]", 3, 0.04)
        + "\n"
    )
    assert "RandomMessagesTest: 150 examples in 0.30 s (500/s)" in log
    rates = parse_rates(log)
    assert [(r.name, r.examples, r.seconds, r.examples_per_s) for r in rates] == [
        ("RandomMessagesTest", 150, 0.3, 500),
        ("RandomJobsTest [anywhere, many hits, 2 midstates]", 3, 0.04, 75),
    ]
    assert rate_line("p", 0, 0.0) == "p: 0 examples in 0.00 s (0/s)"


def test_hit_count_is_the_summary_of_the_bins():
    from asicdv.testbench import functional_coverage as coverage

    @coverage.CoverPoint("unit.hits.size", xf=lambda n: n > 9, bins=[False, True], bins_labels=["small", "big"])
    def sample(n):
        pass

    before = coverage.hit_count()
    assert before == coverage.summary(coverage.bins())[0]
    sample(3)
    sample(4)
    assert coverage.hit_count() == before + 1 == coverage.summary(coverage.bins())[0]


def test_cancelling_the_task_unwinds_the_blocking_code_and_is_not_handed_to_it():
    handed: list[BaseException] = []

    def blocking() -> None:
        try:
            wait(asyncio.sleep(10))
        except BaseException as exc:
            handed.append(exc)
            raise

    async def main() -> None:
        task = asyncio.ensure_future(run_blocking(blocking))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert [type(e).__name__ for e in handed] == ["GreenletExit"]
