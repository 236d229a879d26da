"""Figures of a 20,000-run regression: plan time, results and summary time and memory, report size
and the time headless chromium takes to open it (measured by the browser). `make scale`.

The plan is real (`reseeds: 20000` of one test through the regression planner). Running 20,000
simulator processes takes hours on two cores (start-up dominates), so the results are the records of
one real regression run here (`selftest.night_fixtures` tests on crc32), copied under the planned
ids and seeds: what is measured is the engine's handling of 20,000 records and the report in the
browser, not the simulations.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from asicdv import project
from asicdv.tools import browser, report
from asicdv.tools.blocks import all_blocks
from asicdv.tools.regress import Regression, RegressionOptions
from asicdv.tools.regress.config import load, plan
from asicdv.tools.regress.results import ResultStore
from asicdv.tools.regress.summary import summarize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="asicdv-scale-"))
    blocks = all_blocks(project.current())

    source = folder / "sample.yaml"
    source.write_text(
        json.dumps(
            {
                "entries": [
                    {"block": "crc32", "tests": ["CheckValueTest"], "reseeds": 1},
                    {
                        "block": "crc32",
                        "module": "selftest.night_fixtures",
                        "tests": ["SeedDependent"],
                        "seeds": [1, 2],
                    },
                ]
            }
        )
    )
    sample_out = folder / "sample"
    Regression(str(source), RegressionOptions(jobs=2, out=sample_out, quiet=True, record_history=False)).run()
    sample = list(ResultStore(sample_out).load().values())

    big = folder / "scale.yaml"
    big.write_text(
        json.dumps(
            {
                "entries": [
                    {
                        "block": "crc32",
                        "module": "selftest.night_fixtures",
                        "tests": ["PassesQuickly"],
                        "reseeds": args.runs,
                    }
                ]
            }
        )
    )
    start = time.monotonic()
    _, entries = load(big)
    specs = plan(entries, 7, blocks)
    plan_s = time.monotonic() - start

    out = folder / "scale"
    out.mkdir()
    (out / "plan.json").write_text(
        json.dumps(
            {
                "regression": "scale",
                "invocation": str(big),
                "file": str(big),
                "seed": 7,
                "created": "now",
                "runs": [spec.__dict__ for spec in specs],
            }
        )
    )
    store = ResultStore(out)
    start = time.monotonic()
    for index, spec in enumerate(specs):
        record = dict(sample[index % len(sample)])
        record.update(id=spec.id, key=spec.key, seed=spec.seed, test=spec.test)
        store.append(record)
    append_s = time.monotonic() - start

    tracemalloc.start()
    start = time.monotonic()
    summary = summarize(out, blocks)
    report.write_all(out, summary)
    summary_s = time.monotonic() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    opened = browser.open_page(out / "report.html", ["planned-runs"]) if browser.chromium() else None
    figures = {
        "runs": len(specs),
        "plan_s": round(plan_s, 2),
        "append_s": round(append_s, 2),
        "summary_and_report_s": round(summary_s, 2),
        "summary_peak_mib": round(peak / 2**20, 1),
        "process_max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "report_mib": round((out / "report.html").stat().st_size / 2**20, 2),
        "report_pages": 1 + len(list(out.glob("runs-*.html"))),
        "chromium_load_ms": opened.load_ms if opened else None,
        "records_from": f"{len(sample)} real records of one regression, copied under the planned ids",
    }
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
