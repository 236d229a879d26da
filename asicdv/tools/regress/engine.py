"""The run of a regression: plan or resume, builds, runs, waves reruns, sessions, summary and report."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import simulator as sim
from asicdv.tools import test_reach
from asicdv.tools.blocks import Block, all_blocks
from asicdv.tools.farm import is_infrastructure
from asicdv.tools.regress import folder, formal_entries
from asicdv.tools.regress.config import SEED_LIMIT, RunSpec, load, matches, plan, resolve
from asicdv.tools.regress.executors import DaskExecutor, LocalExecutor, execute, folder_error
from asicdv.tools.regress.progress import Progress
from asicdv.tools.regress.results import ResultStore, first_line, now, signature, write_atomic
from asicdv.tools.regress.summary import close_killed_sessions, merge_code_coverage, summarize

# ---------------------------------------------------------------- the regression


@dataclass
class RegressionOptions:
    jobs: int = 2
    out: Path | None = None
    resume: bool = False
    rerun_failed: bool = False
    filter: str | None = None
    executor: str = "local"
    scheduler: str | None = None
    seed: int | None = None
    max_waves: int = 1
    farm: str | None = None  # slurm, lsf, pbs, sge, htcondor: asicdv starts and stops the cluster
    changed_since: str | None = None  # a git revision: only the runs the change can affect
    sample_percent: float = 10.0  # of the other runs, with changed_since
    coverage_from: Path | None = None  # a coverage regression's folder: per-test selection in a block
    history_url: str | None = None  # results database (default: the project's)
    record_history: bool = True
    quiet: bool = False
    log: object = field(default=print)


class StopRequest:
    """SIGINT/SIGTERM: set a flag the run loop polls (it then kills every simulator)."""

    def __init__(self):
        self.requested = threading.Event()
        self.signal = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signal = signum
        self.request()

    def request(self) -> None:
        """Stop the regression (a signal, or a results folder that can no longer be written)."""
        self.requested.set()
        sim.kill_live_simulations()  # at once; the loop repeats it for runs that start meanwhile

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def reproduce_line(spec: RunSpec, blocks: dict[str, Block], regression: str, seed: int) -> str:
    if spec.module:  # a test outside the block's module: no make rule names it, the regression does
        return shlex.join(["asicdv", "regress", regression, "--seed", str(seed), "--filter", spec.id])
    return sim.reproduce_command(
        blocks[spec.block],
        spec.test,
        spec.seed,
        spec.variant,
        spec.parameters,
        simulator=spec.simulator,
        coverage=spec.coverage,
    )


def _build_all(specs: list[RunSpec], blocks: dict[str, Block], jobs: int, log, stop: StopRequest) -> dict[str, dict]:
    """Build every distinct configuration once, in parallel, from the cache when it can."""
    configs: dict[str, RunSpec] = {}
    for spec in specs:
        configs.setdefault(spec.config, spec)

    def one(spec: RunSpec) -> dict:
        if stop.requested.is_set():
            return {"error": "not built: the regression was stopped", "seconds": 0.0}
        kwargs = {"waves": spec.waves, "overrides": spec.parameters}
        if spec.coverage:
            kwargs["coverage"] = True
        if spec.simulator != "verilator":
            kwargs["simulator"] = spec.simulator
        start = time.monotonic()
        try:
            build = sim.build(blocks[spec.block], spec.variant, **kwargs)
        except (sim.BuildError, UserError) as exc:
            return {"error": str(exc), "seconds": round(time.monotonic() - start, 1)}
        return {
            "build": build,
            "seconds": round(build.seconds, 1),
            "cached": build.seconds == 0.0,
        }

    outcomes = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(one, spec): label for label, spec in configs.items()}
        for future in as_completed(futures):
            label = futures[future]
            outcome = outcomes[label] = future.result()
            if "error" in outcome:
                log(f"build {label}: FAILED ({outcome['error'].splitlines()[0]})")
            else:
                how = "cached" if outcome["cached"] else f"built in {outcome['seconds']:.1f} s"
                log(f"build {label}: {how}")
    return outcomes


class Regression:
    def __init__(self, name: str, options: RegressionOptions):
        self.options = options
        self.log = (lambda *a, **k: None) if options.quiet else options.log
        self.project = projects.current()
        self.blocks = all_blocks(self.project)
        self.source = resolve(name)
        self.name = self.source.stem
        self.out = (Path(options.out) if options.out else self.project.results / "regress" / self.name).resolve()
        self.store = ResultStore(self.out)
        self.sessions = ResultStore(self.out, "sessions.jsonl", key="session", merge=True)
        in_folder = self.source.parent == self.project.regressions
        relative = os.path.relpath(self.source)
        self.regression_arg = self.name if in_folder else str(self.source) if relative.startswith("..") else relative
        self.seed = None
        self.session = secrets.token_hex(4)
        self.write_error: OSError | None = None  # the results folder could not be written: stop, say so
        self.formal_specs: list[formal_entries.FormalSpec] = []  # the formal entries' runs (planned)
        self.formal_todo: list[formal_entries.FormalSpec] = []
        self.formal_store = ResultStore(self.out, formal_entries.STORE)

    # -- planning

    def _fresh_plan(self) -> tuple[list[RunSpec], int]:
        data, entries = load(self.source)
        seed = self.options.seed if self.options.seed is not None else data.get("seed")
        if seed is None:
            seed = random.SystemRandom().randrange(1, SEED_LIMIT)
        specs = plan(entries, seed, self.blocks)
        self.formal_specs = formal_entries.plan(entries, self.blocks)
        if self.options.filter:
            specs = [s for s in specs if matches(s, self.options.filter)]
            self.formal_specs = [s for s in self.formal_specs if formal_entries.matches(s, self.options.filter)]
            if not specs and not self.formal_specs:
                raise UserError(f"--filter {self.options.filter!r} selects no run of regression {self.name}")
        if self.options.changed_since:
            specs = self._affected(specs, seed)
        return specs, seed

    def _affected(self, specs: list[RunSpec], seed: int) -> list[RunSpec]:
        from asicdv.tools import impact

        ref = self.options.changed_since
        selection = impact.select(self.blocks, self.project.root, ref)
        if selection.everything_because:
            self.log(f"changed since {ref}: {selection.everything_because} is in no block's files: every block runs")
        for block, files in sorted(selection.reasons.items()):
            self.log(f"changed since {ref}: {block} ({', '.join(files[:3])}{' ...' if len(files) > 3 else ''})")
        chosen = self._by_coverage(specs, selection, ref) if self.options.coverage_from else None
        kept, sampled = impact.apply(specs, selection, self.options.sample_percent, seed, chosen)
        self.log(f"changed since {ref}: {len(kept) - sampled} affected runs + {sampled} sampled of {len(specs)}")
        if not kept:
            raise UserError(
                f"no run of regression {self.name} is affected by the {len(selection.changed)} file(s) changed "
                f"since {ref}, and the {self.options.sample_percent:g}% sample drew none: nothing to check"
            )
        return kept

    def _known_sources(self) -> set[str]:
        root = self.project.root
        return {
            p.relative_to(root).as_posix() for b in self.blocks.values() for p in b.sources if p.is_relative_to(root)
        }

    def _by_coverage(self, specs: list[RunSpec], selection, ref: str):
        """Which runs of the changed blocks reach a changed line; logs why, per block."""
        from asicdv.tools import impact_coverage

        root = self.project.root
        known = {
            p.relative_to(root).as_posix() for b in self.blocks.values() for p in b.sources if p.is_relative_to(root)
        }
        index = test_reach.load(Path(self.options.coverage_from).resolve(), root, known)
        if index["commit"] != impact_coverage.resolve(root, ref):
            self.log(
                f"coverage measured at {index['commit'][:10]}, not at {ref}: changed lines are those that differ "
                f"from the coverage's revision, plus those {ref} -> {index['commit'][:10]} changed"
            )
        choices = impact_coverage.refine(selection, self.blocks, index, root, ref)
        for line in impact_coverage.explain(specs, choices, index):
            self.log(f"changed since {ref}: {line}")
        return lambda spec: impact_coverage.keeps(spec, choices.get(spec.block), index) is not None

    def _saved_plan(self) -> tuple[list[RunSpec], int]:
        plan_path = self.out / "plan.json"
        if not plan_path.exists():
            raise UserError(f"{self.out}: no plan.json, nothing to resume (run without --resume/--rerun-failed)")
        try:
            saved = json.loads(plan_path.read_text())
            specs = [RunSpec(**fields) for fields in saved["runs"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{plan_path}: not a plan asicdv wrote ({exc}); run without --resume") from None
        if saved["regression"] != self.name:
            raise UserError(
                f"{self.out} holds regression {saved['regression']!r}, not {self.name!r}: nothing to resume"
            )
        self.formal_specs = [formal_entries.FormalSpec(**f) for f in saved.get("formal", [])]
        return specs, saved["seed"]

    def prepare(self) -> tuple[list[RunSpec], list[RunSpec], int]:
        """(every planned run, the runs to do now, master seed); validation errors raise before any change."""
        if self.options.resume or self.options.rerun_failed:
            specs, seed = self._saved_plan()
            records = self.store.load()
            if self.options.resume:
                todo = [s for s in specs if s.id not in records]
            else:
                todo = [s for s in specs if records.get(s.id, {}).get("status") == "fail"]
            if self.options.filter:
                todo = [s for s in todo if matches(s, self.options.filter)]
            done = self.formal_store.load()
            self.formal_todo = [
                s
                for s in self.formal_specs
                if (s.id not in done if self.options.resume else done.get(s.id, {}).get("status") == "fail")
                and (not self.options.filter or formal_entries.matches(s, self.options.filter))
            ]
            return specs, todo, seed
        specs, seed = self._fresh_plan()
        self.formal_todo = list(self.formal_specs)
        return specs, list(specs), seed

    def _start_session(self, specs: list[RunSpec], seed: int, mode: str) -> None:
        """(We hold the folder's lock.) A fresh regression deletes the last one's outputs (only them);
        a torn last line is cut; sessions a kill ended are recorded as interrupted; this one starts."""
        summary = self.out / "summary.json"
        if (self.options.rerun_failed or not self.options.resume) and summary.exists():
            summary.replace(self.out / "previous-summary.json")  # the report compares with it
        if not (self.options.resume or self.options.rerun_failed):
            for stale in folder.OUTPUT_FILES:
                (self.out / stale).unlink(missing_ok=True)
            for stale in folder.OUTPUT_FOLDERS:
                shutil.rmtree(self.out / stale, ignore_errors=True)
            write_atomic(
                self.out / "plan.json",
                json.dumps(
                    {
                        "regression": self.name,
                        "invocation": self.regression_arg,  # how to name it to asicdv regress
                        "file": str(self.source),
                        "seed": seed,
                        "created": now(),
                        # The coverage's line numbers are this commit's (unless its RTL was edited).
                        **test_reach.revision_now(self.project.root),
                        "runs": [asdict(s) for s in specs],
                        "formal": [asdict(s) for s in self.formal_specs],
                    },
                    indent=1,
                ),
            )
        for store in (self.store, self.sessions, self.formal_store):
            cut = store.repair()
            if cut:
                self.log(f"{store.path.name}: removed a cut last line ({cut} bytes) a killed writer left")
        for ended in close_killed_sessions(self.sessions, self.store):
            self.log(
                f"session {ended['session']} ({ended['mode']}, started {ended['started']}) ended without "
                "a word (killed): recorded as interrupted"
            )
        self.sessions.append(
            {
                "session": self.session,
                "state": "running",
                "mode": mode,
                "started": now(),
                "executor": f"farm {self.options.farm}" if self.options.farm else self.options.executor,
                "jobs": self.options.jobs,
                "pid": os.getpid(),
                "host": os.uname().nodename,
                "interrupted": False,
                "wall_s": 0.0,
            }
        )

    def _write(self, record: dict, stop: StopRequest) -> bool:
        """Append a record; a results folder that cannot be written stops the regression (no false verdict)."""
        try:
            self.store.append(record)
            return True
        except OSError as exc:
            self._folder_failed(exc, stop)
            return False

    def _folder_failed(self, exc: OSError, stop: StopRequest) -> None:
        if self.write_error is None:
            self.write_error = exc
            self.log(f"cannot write the results folder {self.out}: {exc.strerror or exc}; stopping")
        stop.request()

    # -- running

    def run(self) -> int:
        folder.check_usable(self.out)
        command = shlex.join(["asicdv", "regress", self.regression_arg, "--out", str(self.out)])
        lock = folder.FolderLock(self.out, command)
        if folder.owned(self.out):  # resume reads the folder: it must be ours alone first
            lock.acquire()
        try:
            specs, todo, seed = self.prepare()  # validation errors: nothing changed
            if lock.fd is None:
                lock.acquire()
            return self._run_locked(specs, todo, seed)
        finally:
            lock.release()

    def _run_locked(self, specs: list[RunSpec], todo: list[RunSpec], seed: int) -> int:
        self.seed = seed
        mode = "resume" if self.options.resume else "rerun-failed" if self.options.rerun_failed else "fresh"
        try:
            self._start_session(specs, seed, mode)
        except OSError as exc:
            raise folder.folder_error(self.out, exc) from None
        formal_note = (
            f", {len(self.formal_specs)} formal runs ({len(self.formal_todo)} to run)" if self.formal_specs else ""
        )
        self.log(
            f"regression {self.name}: {len(specs)} runs planned, {len(todo)} to run ({mode}){formal_note}, "
            f"seed {seed}, "
            + (f"farm {self.options.farm}" if self.options.farm else f"executor {self.options.executor}")
            + f", -j {self.options.jobs}, results in {self.out}"
        )
        start = time.monotonic()
        interrupted = False
        with StopRequest() as stop:
            builds = _build_all(todo, self.blocks, self.options.jobs, self.log, stop)
            try:
                self._save_builds(builds)
            except OSError as exc:
                self._folder_failed(exc, stop)
            executor = None
            if (todo or self.formal_todo) and not stop.requested.is_set():
                executor = self._executor()
            coverage_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asicdv-coverage")
            coverage = None  # the coverage post-processing: it needs only the simulations
            try:
                if executor and todo:
                    self._run_all(todo, builds, executor, stop, attempt_of=self.store.load())
                    if not stop.requested.is_set():
                        self._waves_reruns(executor, stop)
                if any(s.coverage for s in specs) and not stop.requested.is_set():
                    coverage = coverage_pool.submit(self._coverage_after_simulations, specs)
                if executor and self.formal_todo and not stop.requested.is_set():  # after the simulations
                    self._run_formal(executor, stop)
            finally:
                coverage_pool.shutdown(wait=False)
                if executor:
                    executor.close()
            interrupted = stop.requested.is_set()
        wall = time.monotonic() - start
        with contextlib.suppress(OSError):  # a full disk: the session stays 'running', read as interrupted
            self.sessions.append(
                {
                    "session": self.session,
                    "state": "interrupted" if interrupted else "done",
                    "mode": mode,
                    "wall_s": round(wall, 2),
                    "interrupted": interrupted,
                }
            )
        from asicdv.tools import report

        try:  # the merge's errors are raised here, where the summary would raise them
            summary = summarize(self.out, self.blocks, code_coverage=coverage.result() if coverage else None)
            if self.options.record_history:
                self._record_history(summary)
            report.write_all(self.out, summary)
        except OSError as exc:
            self._folder_failed(exc, stop)
            summary = summarize(self.out, self.blocks, write=False)  # what finished, on the console only
        done, planned = summary["counts"]["done"], summary["counts"]["planned"]
        self.log(
            f"regression {self.name}: {summary['counts']['passed']} passed, {summary['counts']['failed']} failed, "
            f"{summary['counts']['infrastructure']} lost to the farm, {planned - done} without result, {len(summary['buckets'])} failure bucket(s); {wall:.1f} s wall"
        )
        for bucket in summary["buckets"]:
            first = bucket["runs"][0]
            tests = ", ".join(bucket["tests"][:4]) + (
                f" and {len(bucket['tests']) - 4} more" if len(bucket["tests"]) > 4 else ""
            )
            self.log(
                f"  [{bucket['count']}x] {first_line(bucket['message'])}\n      tests: {tests}\n"
                f"      reproduce: {first['reproduce']}"
            )
        formal = summary.get("formal")
        if formal:
            verdicts = ", ".join(f"{n} {v}" for v, n in sorted(formal["counts"]["verdicts"].items()))
            hosts = formal["hosts"]
            self.log(
                f"formal: {formal['counts']['properties']} properties ({verdicts or 'none'}) from "
                f"{formal['counts']['done']} of {formal['counts']['planned']} formal runs"
                + (f" on {', '.join(hosts)}" if hosts else "")
            )
            for r in (r for r in formal["properties"] if r["status"] != "pass"):
                self.log(f"  {r['key']}: {formal_entries.describe(r)}\n      reproduce: {formal_entries.rerun(r)}")
        resume = shlex.join(["asicdv", "regress", self.regression_arg, "--out", str(self.out), "--resume"])
        if self.write_error is not None:
            raise UserError(
                f"cannot write the results folder {self.out}: {self.write_error.strerror or self.write_error}; "
                f"{done} of {planned} runs recorded ({summary['counts']['passed']} passed), the rest have no "
                f"result: make room, then `{resume}`"
            )
        self.log(f"report: {self.out / 'report.html'}")
        if interrupted:
            self.log(
                f"interrupted by signal {stop.signal}: {done} of {planned} runs have a result; `{resume}` runs the rest"
            )
            return 130
        clean = summary["counts"]["failed"] == 0 and summary["counts"]["infrastructure"] == 0 and done == planned
        if formal:
            counts = formal["counts"]
            clean = clean and counts["failed"] == 0 and counts["infrastructure"] == 0 and counts["missing"] == 0
        return 0 if clean else 1

    def _coverage_after_simulations(self, specs: list[RunSpec]) -> dict | None:
        """The per-test coverage index and the merged code coverage (the summary's slowest part),
        while the formal runs go on."""
        test_reach.write_after(self.out, self.project.root, self._known_sources(), self.log)
        records = self.store.load()
        return merge_code_coverage(self.out, specs, [records[s.id] for s in specs if s.id in records])

    def _executor(self):
        if self.options.farm:
            from asicdv.tools.farm import FarmExecutor

            return FarmExecutor(
                self.options.farm, self.options.jobs, self.project.farm, self.project.root, self.out, self.log
            )
        if self.options.executor == "dask":
            return DaskExecutor(self.options.jobs, self.options.scheduler)
        return LocalExecutor(self.options.jobs)

    def _picture(self, record: dict, fields: dict) -> dict:
        """The waveform picture of a failure's waves rerun: the cycles before it stopped."""
        if fields.get("status") != "fail" or not fields.get("waves") or fields.get("sim_time_ns") is None:
            return {}
        from asicdv.testbench.clocking import PERIOD_NS
        from asicdv.tools import wave_picture

        dump = self.out / fields["waves"]
        try:
            picture = wave_picture.render(
                dump,
                fields["sim_time_ns"],
                dump.parent / "failure",
                clock=self.blocks[record["block"]].clock,
                period_ns=PERIOD_NS,
            )
        except Exception as exc:  # noqa: BLE001 - a picture is a help, never a verdict
            self.log(f"no waveform picture for {record['id']}: {type(exc).__name__}: {exc}")
            return {}
        return {
            "picture": os.path.relpath(picture.svg, self.out),
            "gtkw": os.path.relpath(picture.gtkw, self.out),
        }

    def _record_history(self, summary: dict) -> None:
        from asicdv.tools import history

        url = self.options.history_url or history.default_url(self.project)
        try:
            night = history.record(summary, self.out, url, history.git_commit(self.project.root))
        except UserError as exc:  # the verdict stands without the database; say why it is not there
            self.log(f"results database: not recorded: {exc}")
            return
        self.log(f"results database: night {night} in {url} (`asicdv history` shows the trends)")
        trends = history.query(url, regression=self.name)
        history.plot(trends, self.out / "trends.svg")
        summary["history"] = {
            "url": url,
            "night": night,
            "plot": "trends.svg",
            "nights": len(trends["trend"]),
            "buckets": [b for b in trends["buckets"] if b["still_failing_since"]],
            "formal": [f for f in trends["formal"] if f["still_failing_since"]],
            "tests": {name: f for name, f in trends["tests"].items() if f["failures"] or f["flaky"]},
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))

    def _save_builds(self, builds: dict[str, dict]) -> None:
        path = self.out / "builds.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        for label, outcome in builds.items():
            saved[label] = {
                "seconds": outcome["seconds"],
                "cached": outcome.get("cached", False),
                "directory": str(outcome["build"].directory) if "build" in outcome else None,
                "error": outcome.get("error"),
            }
        write_atomic(path, json.dumps(saved, indent=1))

    def _record(self, spec: RunSpec, fields: dict, attempt: int) -> dict:
        record = {
            "id": spec.id,
            "key": spec.key,
            "block": spec.block,
            "variant": spec.variant,
            "parameters": spec.parameters,
            "test": spec.test,
            "seed": spec.seed,
            "config": spec.config,
            "reproduce": reproduce_line(spec, self.blocks, self.regression_arg, self.seed),
            "attempt": attempt,
            "session": self.session,
            "finished": now(),
            "waves_rerun": None,
            "flaky": False,
            **fields,
        }
        record["signature"] = signature(record["message"], spec.test) if record["status"] == "fail" else None
        return record

    def _run_all(self, todo, builds, executor, stop: StopRequest, attempt_of: dict[str, dict]) -> None:
        progress = Progress(len(todo), f"{self.name}")
        pending = {}
        try:
            for spec in todo:
                attempt = attempt_of.get(spec.id, {}).get("attempt", 0) + 1
                outcome = builds[spec.config]
                if "error" in outcome:
                    build_log = re.search(r"log: (\S+)", outcome["error"])
                    fields = {
                        "status": "fail",
                        "message": f"build failed: {outcome['error']}",
                        "log": build_log.group(1) if build_log else None,
                        "waves": None,
                        "wall_s": 0.0,
                        "sim_time_ns": None,
                        "build_failed": True,
                    }
                    record = self._record(spec, fields, attempt)
                    if self._write(record, stop):
                        progress.update(record, spec)
                    continue
                future = executor.submit(
                    execute,
                    asdict(spec),
                    outcome["build"],
                    str(self.out),
                    f"runs/{spec.id}",
                )
                pending[future] = (spec, attempt)
            while pending:
                if stop.requested.is_set():
                    executor.stop(pending)
                    return  # what is still running is not recorded: --resume runs it
                finished = [f for f in pending if f.done()]
                if not finished:
                    time.sleep(0.1)
                    continue
                for future in finished:
                    spec, attempt = pending.pop(future)
                    if stop.requested.is_set():
                        return
                    try:
                        fields = future.result()
                    except Exception as exc:  # noqa: BLE001 - a lost worker is one failed run, not a lost regression
                        if folder_error(exc):
                            self._folder_failed(exc, stop)  # the run is not recorded: --resume runs it
                            continue
                        fields = {
                            # the farm lost it (worker died, job cancelled): neither a pass nor a DUT failure
                            "status": "infrastructure" if is_infrastructure(exc) else "fail",
                            "message": f"run raised {type(exc).__name__}: {exc}",
                            "log": None,
                            "waves": None,
                            "wall_s": 0.0,
                            "sim_time_ns": None,
                        }
                    record = self._record(spec, fields, attempt)
                    if self._write(record, stop):
                        progress.update(record, spec)
        finally:
            progress.close()

    def _run_formal(self, executor, stop: StopRequest) -> None:
        """The formal runs on the executor the simulations ran on, each appended to formal.jsonl as it
        ends; what a stop interrupts is not recorded (--resume runs it)."""
        pending = {
            executor.submit(formal_entries.execute, asdict(spec), self.blocks[spec.block], str(self.out)): spec
            for spec in self.formal_todo
        }
        while pending:
            if stop.requested.is_set():
                executor.stop(pending)
                return
            finished = [f for f in pending if f.done()]
            if not finished:
                time.sleep(0.1)
                continue
            for future in finished:
                spec = pending.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker is one run without verdict
                    if folder_error(exc):
                        self._folder_failed(exc, stop)
                        continue
                    result = formal_entries.raised(spec, exc, infrastructure=is_infrastructure(exc))
                if stop.requested.is_set():  # killed by the stop: not a verdict
                    return
                try:
                    record = formal_entries.finish(spec, result, self.out)
                    self.formal_store.append(record)
                except OSError as exc:
                    self._folder_failed(exc, stop)
                    return
                formal_entries.log_rows(record, self.log)

    def _waves_reruns(self, executor, stop: StopRequest) -> None:
        """Rerun failures with waves on, at most max_waves per bucket (fewer builds, as dvsim's max-waves)."""
        records = self.store.load()
        specs = {s.id: s for s in self._saved_plan()[0]}
        per_bucket: dict[str, int] = {}
        chosen = []
        for record in records.values():
            if record["status"] != "fail" or record.get("build_failed"):
                continue
            bucket = record["signature"]
            if record.get("waves_rerun"):
                per_bucket[bucket] = per_bucket.get(bucket, 0) + 1
        for record in records.values():
            if record["status"] != "fail" or record.get("build_failed") or record.get("waves_rerun"):
                continue
            if record.get("waves") or record["id"] not in specs:
                continue  # already traced
            # Every failure reruns with its seed (flaky or seed-dependent?); waves for max_waves a bucket.
            if per_bucket.get(record["signature"], 0) < self.options.max_waves:
                per_bucket[record["signature"]] = per_bucket.get(record["signature"], 0) + 1
                chosen.append((record, specs[record["id"]].with_waves()))
            else:
                chosen.append((record, specs[record["id"]]))
        if not chosen:
            return
        traced = sum(spec.waves for _, spec in chosen)
        self.log(
            f"rerunning {len(chosen)} failure(s) with their seeds, {traced} with waves "
            f"(max {self.options.max_waves} per bucket)"
        )
        builds = _build_all([spec for _, spec in chosen], self.blocks, self.options.jobs, self.log, stop)
        try:
            self._save_builds(builds)
        except OSError as exc:
            self._folder_failed(exc, stop)
            return
        pending = {}
        for record, spec in chosen:
            outcome = builds[spec.config]
            if "error" in outcome:
                continue
            future = executor.submit(
                execute,
                asdict(spec),
                outcome["build"],
                str(self.out),
                f"runs/{spec.id}/{'waves' if spec.waves else 'rerun'}",
            )
            pending[future] = record
        while pending:
            if stop.requested.is_set():
                executor.stop(pending)
                return
            for future in [f for f in pending if f.done()]:
                record = pending.pop(future)
                try:
                    fields = future.result()
                except Exception as exc:  # noqa: BLE001
                    if folder_error(exc):
                        self._folder_failed(exc, stop)
                        continue
                    fields = {
                        "status": "fail",
                        "message": f"waves rerun raised {exc}",
                        "log": None,
                        "waves": None,
                    }
                record = {
                    **record,
                    "waves": fields["waves"],
                    "waves_rerun": {
                        "status": fields["status"],
                        "log": fields["log"],
                        "signature": signature(fields["message"], record["test"])
                        if fields["status"] == "fail"
                        else None,
                    },
                    # Same seed, same verdict: a reproducible, seed-dependent bug (the seed reproduces it).
                    # Same seed, a pass: flaky (non-determinism in the DUT, the testbench or the farm).
                    "flaky": fields["status"] == "pass",
                    "reproducible": fields["status"] == "fail",
                    **self._picture(record, fields),
                }
                self._write(record, stop)
            time.sleep(0.1)
