"""The mutant generator (asicdv.tools.mutation): deterministic, one change each, every mutant parses.
On the chip's RTL on purpose: it has every construct the operators need (generate branches,
localparams, variants with their own files). A mutant built and killed by a real test:
selftest/test_code_coverage_sim.py."""

import dataclasses

import pytest
from pyslang import syntax

from asicdv import UserError, project
from asicdv.tools import mutation as mutate
from asicdv.tools.blocks import get_block


@pytest.fixture(scope="module")
def sha256_mutants():
    return mutate.generate(get_block("sha256"), 60, seed=7)


def test_same_seed_same_mutants_other_seed_other_order(sha256_mutants):
    block = get_block("sha256")
    assert mutate.generate(block, 60, seed=7) == sha256_mutants
    other = mutate.generate(block, 60, seed=8)
    assert [m.name for m in other] != [m.name for m in sha256_mutants]
    # a prefix of a longer list: -n only cuts, it does not reshuffle
    assert mutate.generate(block, 20, seed=7) == sha256_mutants[:20]


def test_every_operator_is_drawn(sha256_mutants):
    assert {m.operator for m in sha256_mutants} == set(mutate.OPERATORS)
    assert [m.index for m in sha256_mutants] == list(range(len(sha256_mutants)))


def test_each_mutant_is_one_change_and_parses(sha256_mutants):
    for mutant in sha256_mutants:
        before = mutant.file.read_bytes()
        after = mutant.apply(before)
        assert after != before, mutant.name
        # one contiguous edit, exactly at the mutant's own range: everything around it is unchanged
        assert before[: mutant.start] == after[: mutant.start]
        assert before[mutant.end :] == after[mutant.start + len(mutant.replacement) :]
        tree = syntax.SyntaxTree.fromText(after.decode(), mutant.file.name)
        errors = [d for d in tree.diagnostics if d.isError()]
        assert not errors, f"{mutant.name}: {mutant.replacement!r} does not parse"
        diff = mutant.diff()
        assert sum(line.startswith("-") and not line.startswith("---") for line in diff.splitlines()) == 1, diff


def test_operators_change_what_they_say(sha256_mutants):
    for mutant in sha256_mutants:
        if mutant.operator == "binary":
            assert mutate.SWAPS[mutant.original] == mutant.replacement
        elif mutant.operator == "cond":
            assert mutant.replacement == f"!({mutant.original})"
        elif mutant.operator == "drop":
            assert mutant.replacement == ";" and "=" in mutant.original and mutant.original.endswith(";")
        elif mutant.operator == "stuck":
            assert mutant.original in mutant.replacement and "'d1 <<" in mutant.replacement
        elif mutant.operator == "const":
            assert mutant.original.split("'")[0] == mutant.replacement.split("'")[0]  # same size


@pytest.mark.parametrize(
    "size, base, digits, expected",
    [
        ("6", "'d", "63", ["6'd62"]),
        ("2", "'b", "00", ["2'b1"]),
        ("32", "'h", "ffff_ffff", ["32'hfffffffe"]),
        ("", "'h", "a", ["'h9", "'hb"]),
        ("4", "'b", "1x0", []),
    ],
)
def test_constant_plus_minus_one_keeps_size_and_base(size, base, digits, expected):
    assert mutate._const_replacements(size, base, digits) == expected


def test_sites_follow_the_variant():
    """A pipelined-engine mutant is never run on the iterative variant (it could not be killed there)."""
    block = get_block("sha256d")
    iterative = mutate.generate(block, 0, seed=1, variants=["iterative"])
    assert iterative and not any(m.file.name == "sha256d_pipelined.v" for m in iterative)
    assert any(m.file.name == "sha256d_iterative.v" for m in iterative)
    # only the block's own RTL: the SHA-256 core's files are mutated with the sha256 block
    assert all(m.file.parent.name == "sha256d" for m in iterative)


def test_equivalents_file_needs_a_reason(tmp_path, monkeypatch):
    block = get_block("sha256")
    rtl = tmp_path / "rtl" / "sha256"
    rtl.mkdir(parents=True)
    (rtl / "mutation_equivalents.yaml").write_text("- {file: sha256_core.v, line: 3, original: a, replacement: b}\n")
    (tmp_path / "asicdv.toml").write_text("")
    block = dataclasses.replace(block, project=project.load(tmp_path / "asicdv.toml"))
    with pytest.raises(UserError, match="reason"):
        mutate.load_equivalents(block)


def test_unknown_block_is_a_user_error():
    from asicdv.tools.cli import main

    assert main(["mutate", "nosuchblock", "-n", "1"]) == 2


def test_unbuilt_generate_branches_and_no_op_stuck_bits_are_not_mutants():
    # kpu 8x8 builds the g_grp branch of the pool-group generate-if, never g_no_grp
    kpu = mutate.generate(get_block("kpu"), 0, seed=1)
    assert not any(m.file.name == "kpu_top.v" and m.original == "2'd0" and "d_grp" in m.diff() for m in kpu)
    # ROUNDS is the localparam 2'd1: forcing its bit 1 to 0 changes nothing, forcing it to 1 does
    core = [
        m for m in mutate.generate(get_block("sha256"), 0, seed=1) if m.operator == "stuck" and m.original == "ROUNDS"
    ]
    assert core and all("| (2'd1 << 1)" in m.replacement for m in core)
