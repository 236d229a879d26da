"""The results folder: one regression at a time (a lock naming its holder), and asicdv's own (a marker).

A fresh regression deletes the outputs of the previous one in its folder, so it must know the folder is
asicdv's: the marker file `.asicdv-results` says so. A folder given as --out that exists, is not empty
and has no marker is refused, so a user's files are never deleted; a file given as --out is refused.
`.asicdv-lock` is held (flock) for the whole regression: a second regression on the same folder fails
at once with the holder's pid, host, start time and command. The kernel drops the lock when the holder
dies, however it dies, so a killed regression never leaves the folder locked.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from asicdv import UserError
from asicdv.tools.regress.results import now

MARKER = ".asicdv-results"
LOCK = ".asicdv-lock"
# What a regression writes in its folder: the only names a fresh regression deletes.
OUTPUT_FILES = (
    "results.jsonl",
    "sessions.jsonl",
    "builds.json",
    "junit.xml",
    "report.html",
    "formal.jsonl",
    "test-reach.json",
)
OUTPUT_FOLDERS = ("runs", "codecov", "formal")  # hypothesis/ stays: replay uses it


def owned(out: Path) -> bool:
    """The folder is asicdv's: it has the marker, or (a folder of an asicdv before the marker) a plan.json
    that asicdv wrote."""
    if (out / MARKER).is_file():
        return True
    try:
        plan = json.loads((out / "plan.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(plan, dict) and {"regression", "seed", "runs", "created"} <= set(plan)


def check_usable(out: Path) -> None:
    """Refuse a folder asicdv may not write or clean, before anything is changed."""
    if out.exists() and not out.is_dir():
        raise UserError(f"results folder {out} is a file, not a folder: give another --out")
    if out.is_dir() and not owned(out):
        try:
            foreign = next(iter(out.iterdir()), None)
        except OSError as exc:
            raise UserError(f"results folder {out}: cannot read it: {exc.strerror}") from None
        if foreign is not None:
            raise UserError(
                f"results folder {out} is not empty and is not an asicdv results folder (no {MARKER}); "
                f"asicdv only cleans folders it made: give a new or empty folder as --out"
            )


def folder_error(out: Path, exc: OSError) -> UserError:
    return UserError(f"cannot write the results folder {out}: {exc.strerror or exc}")


class FolderLock:
    """Exclusive use of a results folder for one regression (flock on OUT/.asicdv-lock)."""

    def __init__(self, out: Path, command: str):
        self.out = out
        self.command = command  # the holder's command line, for the error a second regression gets
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            if not owned(self.out):
                (self.out / MARKER).write_text(
                    "This folder is an asicdv regression's results folder: asicdv regress may delete its outputs.\n"
                )
            fd = os.open(self.out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise folder_error(self.out, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise UserError(
                f"results folder {self.out} is in use by another regression ({holder}); "
                "wait for it to end or give another --out"
            ) from None
        self.fd = fd
        info = {
            "pid": os.getpid(),
            "host": os.uname().nodename,
            "started": now(),
            "command": self.command,
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        except OSError as exc:
            self.release()
            raise folder_error(self.out, exc) from None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode())
        return f"pid {info['pid']} on {info['host']}, started {info['started']}: {info.get('command')}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"
