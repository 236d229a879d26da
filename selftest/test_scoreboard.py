"""The scoreboard and the failure text it writes: which elements differ, long values abbreviated."""

import numpy as np
import pytest

from asicdv.testbench.scoreboard import (
    MAX_DIFFS,
    BatchedScoreboard,
    Scoreboard,
    describe_mismatch,
    differences,
    plain,
    to_hex,
)


def test_scoreboard_reports_first_mismatch_in_hex():
    board = Scoreboard("demo")
    board.expect(0xABCD, context=b"\x01")
    board.expect(0x10)
    assert not board.observe(0xABCE)
    assert board.observe(0x10)
    with pytest.raises(AssertionError, match=r"expected: 0xabcd\n  actual:   0xabce"):
        board.check()


def test_scoreboard_flags_missing_and_unexpected():
    board = Scoreboard("demo")
    board.expect({"nonce": 5})
    with pytest.raises(AssertionError, match="never came"):
        board.check()
    board = Scoreboard("demo")
    assert not board.observe(7)
    with pytest.raises(AssertionError, match="unexpected transaction"):
        board.check()


def test_scoreboard_clear_judges_the_next_transaction_alone():
    board = Scoreboard("sb")
    board.expect(1)
    board.observe(2)
    with pytest.raises(AssertionError):
        board.check()
    board.clear()
    board.expect(3)
    board.observe(3)
    board.check()  # the earlier mismatch no longer counts


def test_the_first_line_names_the_transaction_and_its_input():
    board = Scoreboard("sha256 message")
    board.expect(1, context=b"\x0a\x0b")
    board.observe(2)
    assert board.first_mismatch.splitlines()[0] == "sha256 message transaction 0 (input 0a0b): mismatch"


def test_a_list_mismatch_names_each_differing_index_and_counts_them():
    text = describe_mismatch("rows", [1, 2, 3, 4], [1, 9, 3, 8])
    assert "  2 of 4 elements differ:" in text
    assert "    [1]: expected 0x2, actual 0x9" in text
    assert "    [3]: expected 0x4, actual 0x8" in text
    assert "[0]" not in text and "[2]" not in text


def test_a_matrix_mismatch_names_row_and_column():
    want = ((1, 2, 3), (4, 5, 6))
    got = ((1, 2, 3), (4, 7, 6))
    text = describe_mismatch("gemm", want, got)
    assert "  1 of 6 elements differ:" in text
    assert "    [1][1]: expected 0x5, actual 0x7" in text


def test_numpy_arrays_compare_and_report_like_nested_lists():
    want = np.arange(12, dtype=np.int32).reshape(3, 4)
    got = want.copy()
    got[2, 1] = -1
    board = Scoreboard("kpu")
    board.expect(want)
    assert not board.observe(got)  # an array comparison is not a truth value: the board must not raise here
    text = board.first_mismatch
    assert "  1 of 12 elements differ:" in text
    assert "    [2][1]: expected 0x9, actual -0x1" in text
    board.clear()
    board.expect(want)
    assert board.observe(want.copy())
    board.check()
    assert plain({"row": np.int64(3), "m": np.zeros(2, dtype=np.int8)}) == {"row": 3, "m": [0, 0]}


def test_a_dict_with_a_row_names_the_field_and_the_element():
    text = describe_mismatch("kpu rows", {"row": [5, 6, 7], "last": True}, {"row": [5, 6, 0], "last": False})
    assert "  differing fields: row, last" in text
    assert "  2 of 4 elements differ:" in text
    assert "    row[2]: expected 0x7, actual 0x0" in text
    assert "    last: expected True, actual False" in text


def test_different_lengths_show_the_shapes_and_the_missing_elements():
    text = describe_mismatch("m", [[1, 2], [3, 4]], [[1, 2]])
    assert "  shapes differ: expected 2x2, actual 1x2" in text
    assert "    [1]: expected (0x3, 0x4)" not in text  # lists print as lists
    assert "    [1]: expected [0x3, 0x4], actual (missing)" in text
    assert "  1 of 4 elements differ:" in text  # a missing row is one difference covering its elements
    extra = describe_mismatch("m", [1], [1, 2])
    assert "    [1]: expected (none), actual 0x2" in extra


def test_many_differences_are_listed_up_to_a_limit_and_counted():
    want = list(range(100))
    got = [v + 1 for v in want]
    text = describe_mismatch("big", want, got)
    assert "  100 of 100 elements differ:" in text
    assert text.count(": expected ") == MAX_DIFFS
    assert f"    ... and {100 - MAX_DIFFS} more" in text
    found, total = differences(want, got)
    assert (len(found), total) == (100, 100)


def test_long_values_are_abbreviated():
    text = to_hex(list(range(1000)))
    assert text.startswith("[0x0, 0x1, 0x2") and text.endswith("0x3e7] (1000 items)")
    assert "..." in text and len(text) < 120
    assert to_hex(bytes(range(100))).endswith("... (100 bytes)")
    huge = to_hex([list(range(50))] * 50)  # each row abbreviated, and the whole cut
    assert len(huge) < 450 and huge.endswith("chars)")
    assert len(describe_mismatch("m", [[0] * 64] * 64, [[1] * 64] * 64)) < 2000


def test_bytes_mismatch_says_how_many_bytes_differ_and_where():
    want = bytes(32)
    got = bytes(5) + b"\x01" + bytes(26)
    text = describe_mismatch("digest", want, got)
    assert "  1 of 32 bytes differ, first at offset 5" in text


def test_scalars_and_dicts_of_scalars_keep_the_short_form():
    assert describe_mismatch("x", 1, 2) == "x: mismatch\n  expected: 0x1\n  actual:   0x2"
    text = describe_mismatch("job", {"nonce": 5, "hit": True}, {"nonce": 6, "hit": True})
    assert text.splitlines()[-1] == "  differing fields: nonce"


def test_a_batched_board_judges_in_batches_in_the_order_observed():
    calls = []

    def double_all(inputs):
        calls.append(len(inputs))
        return [2 * x for x in inputs]

    board = BatchedScoreboard("batched", double_all, batch=3, context=lambda x: {"x": x})
    for x in (1, 2):
        board.observe_from(x, 2 * x)
    assert calls == []  # kept until a batch is full or the board is checked
    board.observe_from(3, 7)  # the third fills the batch: judged now, the mismatch recorded
    board.observe_from(4, 8)
    assert calls == [3] and board.errors == 1
    with pytest.raises(AssertionError, match=r"batched transaction 2 \(input \{x: 0x3\}\): mismatch"):
        board.check()  # flushes the fourth first
    assert calls == [3, 1] and board.matched == 3


def test_a_batched_board_clears_what_it_kept_and_judges_an_output_without_input_in_order():
    board = BatchedScoreboard("batched", lambda inputs: list(inputs), batch=100)
    board.observe_from(1, 2)
    board.clear()
    board.check()  # the kept mismatch went with the clear
    board.observe_from(5, 5)
    assert not board.observe(9)  # the kept one is judged first, then this one is unexpected
    assert board.matched == 1
    with pytest.raises(AssertionError, match="unexpected transaction from the DUT: 0x9"):
        board.check()


def test_a_match_the_caller_judged_counts_only_with_nothing_expected_before_it():
    board = Scoreboard("rows")
    assert board.matched_if(True) and board.matched == 1
    assert not board.matched_if(False)  # the caller expects and observes a mismatch itself
    board.expect(1)
    assert not board.matched_if(True)  # an earlier expectation is judged first, in order
    assert board.observe(1) and board.matched == 2
    board.check()
