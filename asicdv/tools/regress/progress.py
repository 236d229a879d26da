"""The live progress line of a regression."""

from __future__ import annotations

import sys
import time

from asicdv.tools.regress.config import RunSpec
from asicdv.tools.regress.results import first_line

# ---------------------------------------------------------------- progress


class Progress:
    """A live line (rich) on a terminal; plain lines otherwise."""

    def __init__(self, total: int, label: str):
        self.total, self.done, self.passed, self.failed = total, 0, 0, 0
        self.start = time.monotonic()
        self.live = None
        if sys.stdout.isatty() and total:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self.live = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[green]{task.fields[passed]} pass[/] [red]{task.fields[failed]} fail[/]"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            )
            self.task = self.live.add_task(label, total=total, passed=0, failed=0)
            self.live.start()

    def update(self, record: dict, spec: RunSpec) -> None:
        self.done += 1
        self.passed += record["status"] == "pass"
        self.failed += record["status"] != "pass"
        line = (
            f"[{self.done}/{self.total}] {record['status'].upper():4} {spec.config} {spec.test} "
            f"seed={spec.seed} {record['wall_s']:.1f}s"
        )
        if self.live:
            self.live.update(self.task, advance=1, passed=self.passed, failed=self.failed)
            if record["status"] != "pass":
                self.live.console.print(line + f"  {first_line(record['message'], 120)}")
        else:
            elapsed = time.monotonic() - self.start
            eta = elapsed / self.done * (self.total - self.done)
            extra = f"  {first_line(record['message'], 120)}" if record["status"] != "pass" else ""
            print(
                f"{line}  (pass {self.passed} fail {self.failed}, ETA {eta:.0f}s){extra}",
                flush=True,
            )

    def close(self) -> None:
        if self.live:
            self.live.stop()
