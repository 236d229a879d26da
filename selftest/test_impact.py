"""--changed-since with --coverage-from: diff hunks, line mapping and per-test selection, on a tiny git
repository and a synthetic coverage index (no simulator)."""

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from asicdv import UserError
from asicdv.tools import cli, diff_hunks, impact, impact_coverage, test_reach

DIFF = """\
diff --git a/rtl/a/a.v b/rtl/a/a.v
--- a/rtl/a/a.v
+++ b/rtl/a/a.v
@@ -3 +3 @@ module a;
-  assign y = x;
+  assign y = ~x;
@@ -7,0 +8,2 @@ module a;
+  reg z;
+  reg w;
@@ -10,2 +11,0 @@
-  wire q;
-  wire r;
@@ -20 +19 @@
-  // old comment
+  // new comment
"""


def test_hunks_parse_and_touch_the_right_lines():
    hunks = diff_hunks.parse(DIFF)
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in hunks] == [
        (3, 1, 3, 1),
        (7, 0, 8, 2),
        (10, 2, 11, 0),
        (20, 1, 19, 1),
    ]
    assert hunks[3].comments_only and not hunks[0].comments_only
    # Old side: the replaced lines, both lines around an insertion; the comment edit touches nothing.
    assert diff_hunks.touched(hunks, "old") == {3, 7, 8, 10, 11}
    assert diff_hunks.touched(hunks, "new") == {3, 8, 9, 11, 12}
    # Given the old side's text, comment and blank lines among them drop out, unless nothing else is left.
    text = ["code;"] * 20
    text[6] = "  // before the insertion"
    text[9] = ""
    assert diff_hunks.touched(hunks, "old", text) == {3, 8, 11}
    text[7] = "// after it"
    assert diff_hunks.touched(hunks, "old", text) == {3, 7, 8, 11}


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def commit(root, message):
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """rtl/a/a.v (10 statement lines) tested by tb/a: tests T1 reach lines 1-5, T2 lines 1-10."""
    root = tmp_path / "repo"
    (root / "rtl/a").mkdir(parents=True)
    (root / "tb/a").mkdir(parents=True)
    (root / "rtl/a/a.v").write_text("".join(f"stmt{n};\n" for n in range(1, 13)))
    (root / "tb/a/block.yaml").write_text("name: a\n")
    (root / "tb/a/tests.py").write_text("# tests\n")
    git(root, "init", "-q")
    sha = commit(root, "one")
    block = SimpleNamespace(path=root / "tb/a/block.yaml", sources=(root / "rtl/a/a.v",))
    index = {
        "format": 1,
        "commit": sha,
        "dirty": [],
        "points": {"rtl/a/a.v": list(range(1, 11))},  # lines 11-12: no coverage point
        "tests": {
            "a/default/T1": {"seeds": [1], "lines": {"rtl/a/a.v": [1, 2, 3, 4, 5]}},
            "a/default/T2": {"seeds": [1, 2], "lines": {"rtl/a/a.v": list(range(1, 10))}},
            "a/default/T3": {"seeds": [1], "lines": {}},
        },
    }
    return SimpleNamespace(root=root, sha=sha, blocks={"a": block}, index=index)


def edit(root, line, text):
    path = root / "rtl/a/a.v"
    lines = path.read_text().splitlines(keepends=True)
    lines[line - 1] = text + "\n"
    path.write_text("".join(lines))


def choose(repo, ref=None):
    selection = impact.select(repo.blocks, repo.root, ref or repo.sha)
    return impact_coverage.refine(selection, repo.blocks, repo.index, repo.root, ref or repo.sha)["a"]


def spec(test, variant="default"):
    return SimpleNamespace(block="a", variant=variant, parameters={}, test=test)


def test_only_the_tests_reaching_a_changed_line_run(repo):
    edit(repo.root, 7, "stmt7_changed;")
    choice = choose(repo)
    assert choice.whole_because is None
    assert choice.reaching == {"a/default/T2": ["rtl/a/a.v:7"]}
    keeps = {t: impact_coverage.keeps(spec(t), choice, repo.index) for t in ("T1", "T2", "T3", "T4")}
    assert keeps == {"T1": None, "T2": "reaches", "T3": None, "T4": "no coverage"}
    assert impact_coverage.keeps(spec("T1", "other"), choice, repo.index) == "no coverage"
    lines = impact_coverage.explain([spec("T1"), spec("T2"), spec("T2"), spec("T4")], {"a": choice}, repo.index)
    assert lines[0] == "a: 3 of 4 runs by coverage"
    assert "a/default/T2 (2 runs) reaches rtl/a/a.v:7" in lines[1]
    assert "no coverage for a/default/T4" in lines[2]


@pytest.mark.parametrize(
    "line, text, reason",
    [
        (10, "stmt10_changed;", "rtl/a/a.v:10 changed and no test with coverage reaches it"),
        (11, "stmt11_changed;", "rtl/a/a.v:11 changed and is no coverage point"),
    ],
)
def test_a_line_no_test_reaches_runs_the_whole_block(repo, line, text, reason):
    edit(repo.root, line, text)
    assert choose(repo).whole_because.startswith(reason)


def test_testbench_change_runs_the_whole_block(repo):
    (repo.root / "tb/a/tests.py").write_text("# tests, edited\n")
    assert choose(repo).whole_because.startswith("tb/a/tests.py changed (testbench or model")


def test_comment_only_change_runs_nothing(repo):
    edit(repo.root, 3, "// just a comment now")
    edit(repo.root, 3, "stmt3;")  # back to the original: no diff at all
    path = repo.root / "rtl/a/a.v"
    path.write_text(path.read_text() + "// a trailing comment\n")
    choice = choose(repo)
    assert (choice.whole_because, choice.reaching, choice.comments_only) == (None, {}, ["rtl/a/a.v"])
    assert impact_coverage.keeps(spec("T4"), choice, repo.index) is None


def test_lines_are_mapped_to_the_coverage_revision(repo):
    # Coverage measured at `sha`; then two lines inserted at the top (committed as `later`); then line 8
    # of the coverage revision (line 10 now) edited in the working tree. --changed-since later.
    path = repo.root / "rtl/a/a.v"
    path.write_text("new1;\nnew2;\n" + path.read_text())
    later = commit(repo.root, "two")
    edit(repo.root, 10, "stmt8_changed;")
    # ref -> coverage (new side: line 1, beside the lines the coverage lacks) plus coverage -> worktree
    # (old side: line 1 beside the insertion, line 8 edited). Not line 10: that is the new numbering.
    assert diff_hunks.lines_at_coverage(repo.root, later, repo.sha, None, "rtl/a/a.v") == {1, 8}
    choice = choose(repo, later)
    assert choice.whole_because is None
    assert choice.reaching == {"a/default/T1": ["rtl/a/a.v:1"], "a/default/T2": ["rtl/a/a.v:1", "rtl/a/a.v:8"]}


def test_file_unknown_to_the_coverage_or_dirty_runs_the_whole_block(repo):
    (repo.root / "rtl/a/b.v").write_text("stmt;\n")
    repo.blocks["a"].sources += (repo.root / "rtl/a/b.v",)
    assert "rtl/a/b.v: the coverage (at" in choose(repo).whole_because
    (repo.root / "rtl/a/b.v").unlink()
    repo.blocks["a"].sources = repo.blocks["a"].sources[:1]
    edit(repo.root, 2, "stmt2_changed;")
    repo.index["dirty"] = ["rtl/a/a.v"]
    assert "uncommitted edits when the coverage ran" in choose(repo).whole_because


def test_apply_keeps_the_chosen_runs_and_samples_the_rest(repo):
    specs = [SimpleNamespace(block="a", test=f"T{n}") for n in range(100)]
    selection = impact.Selection(frozenset({"a"}), {}, ())
    kept, sampled = impact.apply(specs, selection, 10, 7, chosen=lambda s: s.test == "T1")
    assert kept[0].test == "T1" and sampled == len(kept) - 1 and 0 < sampled < 30
    assert impact.apply(specs, selection, 10, 7, chosen=lambda s: s.test == "T1") == (kept, sampled)  # seeded


def test_index_from_a_folder_without_coverage_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="no plan.json"):
        test_reach.load(tmp_path, tmp_path, set())
    (tmp_path / "plan.json").write_text(json.dumps({"regression": "smoke", "runs": [{"id": "x", "coverage": False}]}))
    with pytest.raises(UserError, match="regression 'smoke' has no coverage runs"):
        test_reach.load(tmp_path, tmp_path, set())
    with pytest.raises(UserError, match="no such folder"):
        test_reach.load(tmp_path / "missing", tmp_path, set())


def test_cli_coverage_from_without_coverage_exits_2_with_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code = cli.main(
        ["regress", "smoke", "--changed-since", "HEAD", "--coverage-from", str(empty), "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and f"--coverage-from {empty}" in err, err
    assert cli.main(["regress", "smoke", "--coverage-from", str(empty)]) == 2
    assert capsys.readouterr().err.strip() == "asicdv: error: --coverage-from refines --changed-since: give both"


def test_a_coverage_regression_records_its_commit(tmp_path):
    info = test_reach.revision_now(Path(__file__).parent)
    assert info["commit"] and isinstance(info["dirty"], list)
