"""asicdv in a team's own repository, as a new user meets it (the end-to-end test of `make test`).

The wheel is built from this checkout and installed, with this repository's constraints, into a
fresh venv outside the checkout; a temporary git repository outside the checkout holds a design
of its own (selftest/foreign_design/rtl: active-low reset rst_ni, input handshake
valid_i/ready_o, a valid-only output valid_o). There, as a user would: `asicdv init`,
`asicdv new-block`, the scaffold's smoke test passes unedited; the user's model and test
(selftest/foreign_design/user/) pass; `asicdv regress smoke` and the gate pass; a planted RTL bug
fails with a reproduce line that, run in that repository, fails the same way. On the way: the
wheel holds only the framework, `asicdv lint` in a project without blocks is one clear error,
valid-only streams work through the native engine and through the Python endpoints.

Measured and printed (and written to results/selftest/foreign_repo.json): the time from
`pip install` to the first passing test of the design, and the lines the new block takes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).with_name("foreign_design")
USER = FIXTURE / "user"


def _clean_env(venv: Path) -> dict[str, str]:
    """The user's shell: the new venv first on PATH, nothing of this checkout's environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ASICDV_", "PYTEST_", "COCOTB_", "VERILATOR", "PYTHON", "VIRTUAL_ENV", "GPI_"))
        and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")  # `make test` run from a make (the bench)
    }
    ours = (Path(sys.prefix).resolve(), REPO)  # this checkout's venv (and its Verilator) stay off PATH
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not Path(p).resolve().is_relative_to(ours[0])]
    path = [p for p in path if not Path(p).resolve().is_relative_to(ours[1])]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd, cwd: Path, env: dict, expect: int | None = 0, timeout: float = 1200) -> subprocess.CompletedProcess:
    shell = isinstance(cmd, str)
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, shell=shell, check=False
    )
    if expect is not None and result.returncode != expect:
        shown = cmd if shell else " ".join(map(str, cmd))
        raise AssertionError(
            f"`{shown}` in {cwd} exited {result.returncode}, expected {expect}\n"
            f"--- stdout (tail)\n{result.stdout[-4000:]}\n--- stderr (tail)\n{result.stderr[-3000:]}"
        )
    return result


def _build_wheel(out: Path) -> Path:
    """The wheel of this checkout's working tree (copied first: no build/ or egg-info in the checkout)."""
    src = out / "src"
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "asicdv", src / "asicdv", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)], out, dict(os.environ))
    (wheel,) = out.glob("asicdv-*.whl")
    return wheel


def _code_lines(path: Path) -> int:
    """Lines that are neither blank nor only a comment."""
    return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.strip().startswith("#"))


def _failure(output: str, test: str) -> str:
    """The failure text pytest printed for `test` (from its FAILED line to its reproduce line)."""
    match = re.search(rf"^mac\[default\] {test} FAILED with seed \d+\n(.*?)^reproduce: ", output, re.M | re.S)
    assert match, f"no failure text for {test} in:\n{output[-3000:]}"
    return match.group(1)


VALID_ONLY_RUNNER = textwrap.dedent(
    """
    import json, shutil, sys
    from pathlib import Path
    from asicdv import project as projects
    from asicdv.tools import simulator as sim
    from asicdv.tools.blocks import all_blocks

    project = projects.current()
    block = all_blocks(project)["mac"]
    build = sim.build(block)
    results = {}
    for mode, env in (("native", {}), ("python", {"ASICDV_NATIVE": "0"})):
        for test, module in [(t, "tb.mac.valid_only_checks") for t in sys.argv[1:]] + [("ModelStallsTest", None)]:
            run_dir = project.results / "valid_only" / mode / test
            result = sim.run(build, test, 11, module=module, extra_env=env, run_dir=run_dir)
            results[f"{mode} {test}"] = result.message if not result.passed else "passed"
    if shutil.which("iverilog"):  # 4-state: the Python checker of a valid-only stream sees a Z valid
        icarus = sim.build(block, simulator="icarus")
        for test, module in (("ValidOnlyCheckerSeesZ", "tb.mac.valid_only_checks"), ("ModelStallsTest", None)):
            result = sim.run(icarus, test, 11, module=module, run_dir=project.results / "valid_only" / "icarus" / test)
            results[f"icarus {test}"] = result.message if not result.passed else "passed"
    print(json.dumps(results))
    """
)
VALID_ONLY_TESTS = ("BindingByConvention", "ValidOnlySourceMonitorChecker", "ValidOnlySinkTakesEveryResult")


def test_foreign_repo_from_the_wheel(tmp_path_factory):
    work = tmp_path_factory.mktemp("foreign")
    assert REPO not in work.parents, "the test's folders must be outside the checkout"
    figures: dict[str, object] = {}

    # The wheel: the framework only.
    wheel = _build_wheel(work / "wheel")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"asicdv", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}, top
    assert not [n for n in names if re.match(r"(tb|models|tests|selftest)/", n)]
    for shipped in (
        "asicdv/testbench/verilator_main.cpp",
        "asicdv/resources/gates.yaml",
        "asicdv/resources/asicdv.mk",
        "asicdv/resources/templates/init/asicdv.toml",
        "asicdv/resources/templates/block/env.py.in",
    ):
        assert shipped in names, f"{shipped} is not in {wheel.name}"

    # A fresh venv outside the checkout, the wheel installed with this repository's constraints.
    venv = work / "venv"
    env = _clean_env(venv)
    _run([sys.executable, "-m", "venv", str(venv)], work, env)
    started = time.monotonic()
    _run(
        [venv / "bin/python", "-m", "pip", "install", "-q", "-c", REPO / "constraints.txt", f"{wheel}[regress]"],
        work,
        env,
    )
    figures["pip_install_s"] = round(time.monotonic() - started, 1)

    # `asicdv lint` in a project without blocks: one clear line, exit 2.
    empty = work / "empty"
    empty.mkdir()
    _run(["asicdv", "init"], empty, env)
    lint = _run(["asicdv", "lint"], empty, env, expect=2)
    assert lint.stdout == "" and len(lint.stderr.strip().splitlines()) == 1, lint.stderr
    assert "no block file matches tb/*/block.yaml" in lint.stderr, lint.stderr
    again = _run(["asicdv", "init"], empty, env, expect=2)
    assert "already exist" in again.stderr and len(again.stderr.strip().splitlines()) == 1, again.stderr

    # The team's repository: its RTL, committed; then init and new-block.
    repo = work / "team-repo"
    shutil.copytree(FIXTURE / "rtl", repo / "rtl")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    _run(["git", "init", "-q"], repo, env)
    _run([*git, "add", "-A"], repo, env)
    _run([*git, "commit", "-qm", "the design"], repo, env)
    _run(["asicdv", "init"], repo, env)
    new_block = _run(["asicdv", "new-block", "mac", "--top", "mac_pipe", "--sources", "rtl/mac/*.v"], repo, env)
    assert "reset rst_ni (active low)" in new_block.stdout, new_block.stdout
    assert "stream in: input, valid valid_i, ready ready_o, data a_i, b_i, c_i" in new_block.stdout
    assert "stream out: output, valid valid_o, ready none (valid-only), data y_o" in new_block.stdout
    generated = {
        rel: _code_lines(repo / rel)
        for rel in ("tb/mac/block.yaml", "tb/mac/env.py", "tb/mac/mac_tests.py", "models/mac.py")
    }

    # The scaffold's smoke test, unedited.
    first = _run(["asicdv", "test", "mac"], repo, env)
    assert re.search(r"^PASSED .*::default::SmokeTest$", first.stdout, re.M), first.stdout
    figures["pip_install_to_first_passing_test_s"] = round(time.monotonic() - started, 1)

    # The Makefile `asicdv init` wrote includes the package's fragment.
    assert _run(["make", "-s", "blocks"], repo, env).stdout.split() == ["mac"]

    # The user's part: the model in the hook, a test with stimulus, its block.yaml entries.
    shutil.copy(USER / "mac_model.py", repo / "models/mac.py")
    with open(repo / "tb/mac/mac_tests.py", "a") as tests:
        tests.write((USER / "model_tests.py.in").read_text())
    with open(repo / "tb/mac/block.yaml", "a") as block:
        block.write((USER / "block_tests.yaml").read_text())
    figures["lines"] = {
        "generated (wiring, no edit)": generated,
        "written by the user (test intent)": {
            "models/mac.py (model)": _code_lines(USER / "mac_model.py"),
            "tb/mac/mac_tests.py (two tests)": _code_lines(USER / "model_tests.py.in"),
            "tb/mac/block.yaml (their entries)": _code_lines(USER / "block_tests.yaml"),
        },
    }
    tested = _run(["asicdv", "test", "mac"], repo, env)
    for test in ("SmokeTest", "ModelTest", "ModelStallsTest"):
        assert re.search(rf"^PASSED .*::default::{test}$", tested.stdout, re.M), tested.stdout

    # Valid-only streams, natively and through the Python endpoints (framework checks, same build).
    shutil.copy(USER / "valid_only_checks.py", repo / "tb/mac/valid_only_checks.py")
    checks = _run(["python", "-c", VALID_ONLY_RUNNER, *VALID_ONLY_TESTS], repo, env)
    outcomes = json.loads(checks.stdout.strip().splitlines()[-1])
    assert len(outcomes) == 2 * (len(VALID_ONLY_TESTS) + 1) + (2 if shutil.which("iverilog") else 0), outcomes
    figures["valid_only_checks"] = sorted(outcomes)
    assert all(v == "passed" for v in outcomes.values()), outcomes

    # The smoke regression and its gate (through the Makefile's gate target).
    regress = _run(["asicdv", "regress", "smoke", "-j", "2"], repo, env)
    assert "3 passed, 0 failed" in regress.stdout, regress.stdout
    for artefact in ("summary.json", "junit.xml", "report.html"):
        assert (repo / "results/regress/smoke" / artefact).is_file(), artefact
    gate = _run(["make", "gate"], repo, env)
    assert "gate: PASS" in gate.stdout, gate.stdout
    status = _run(["git", "status", "--porcelain", "--untracked-files=all"], repo, env).stdout
    assert not [line for line in status.splitlines() if re.search(r" (build|results)/", line)], status

    # A planted RTL bug: the model test fails, and its reproduce line fails the same way.
    rtl = repo / "rtl/mac/mac_pipe.v"
    good, bad = (USER / "bug.txt").read_text().splitlines()
    assert good in rtl.read_text()
    rtl.write_text(rtl.read_text().replace(good, bad))
    broken = _run(["asicdv", "test", "mac", "--test", "ModelTest"], repo, env, expect=1)
    failure = _failure(broken.stdout, "ModelTest")
    assert "mismatch" in failure and "expected: {y: " in failure, failure
    lines = set(re.findall(r"^reproduce: (.*?)(?:   \(add --waves.*)?$", broken.stdout, re.M))
    assert len(lines) == 1, f"expected one reproduce line:\n{broken.stdout[-6000:]}"
    (line,) = lines
    assert line.startswith("asicdv test mac --test ModelTest --seed ") and "--variant default" in line, line
    rerun = _run(line, repo, env, expect=1)
    assert _failure(rerun.stdout, "ModelTest") == failure

    out = REPO / "results" / "selftest" / "foreign_repo.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))
