"""A regression's outputs for people and dashboards: `report.html` (one self-contained page) and `junit.xml`.

Both are made from `summary.json` (asicdv.tools.regress.summarize). The page has no external resource: CSS is
inline and the duration plot is an inline SVG drawn by matplotlib.
"""

from __future__ import annotations

import io
import os
import shlex
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import jinja2
import markupsafe

# A report of a 20,000-run regression still opens at once: the run table is paged into static
# files (no script), the matrix shows the first seeds of each test, the duration plot the longest runs.
RUNS_PER_PAGE = 500
BADGES_PER_ROW = 50
LONGEST_RUNS = 60


def _pages(runs: list[dict]) -> list[list[dict]]:
    """Failures first, then the rest, RUNS_PER_PAGE a page."""
    ordered = sorted(runs, key=lambda r: r["status"] == "pass")
    return [ordered[i : i + RUNS_PER_PAGE] for i in range(0, len(ordered), RUNS_PER_PAGE)] or [[]]


def page_name(number: int) -> str:
    return "report.html" if number == 1 else f"runs-{number}.html"


def write_all(out: Path, summary: dict) -> None:
    """Every file written whole or not at all (a kill or a full disk leaves the previous one)."""
    from asicdv.tools.regress.results import write_atomic

    scratch = out / f".junit.xml.tmp-{os.getpid()}"
    try:
        write_junit(scratch, summary)
        os.replace(scratch, out / "junit.xml")
    finally:
        scratch.unlink(missing_ok=True)
    pages = _pages(summary["runs"])
    for stale in out.glob("runs-*.html"):
        stale.unlink()
    write_atomic(out / "report.html", render_html(summary, pages[0], len(pages)))
    for number, rows in enumerate(pages[1:], start=2):
        write_atomic(
            out / page_name(number),
            RUNS_PAGE.render(
                csp=markupsafe.Markup(CSP), s=summary, rows=rows, page=number, pages=len(pages), page_name=page_name
            ),
        )


def write_junit(path: Path, summary: dict) -> None:
    """One testcase per run; seed, log, waves and reproduce command as properties; missing runs skipped."""
    counts = summary["counts"]
    suite = ET.Element(
        "testsuite",
        name=f"asicdv.{summary['regression']}",
        tests=str(counts["planned"]),
        failures=str(counts["failed"]),
        errors=str(counts.get("infrastructure", 0)),
        skipped=str(counts["missing"]),
        time=f"{sum(r['wall_s'] for r in summary['runs']):.3f}",
    )
    for run in summary["runs"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{run['block']}.{run['config'].split('[', 1)[1].split(']')[0]}",
            name=f"{run['test']}[seed={run['seed']}]",
            time=f"{run['wall_s']:.3f}",
        )
        props = ET.SubElement(case, "properties")
        for name in ("seed", "log", "waves", "reproduce"):
            if run.get(name) is not None:
                ET.SubElement(props, "property", name=name, value=str(run[name]))
        if run["status"] == "fail":
            failure = ET.SubElement(case, "failure", message=run["signature"] or "failed")
            failure.text = run["message"]
        elif run["status"] == "infrastructure":  # the farm lost it: an error of the flow, not of the DUT
            error = ET.SubElement(case, "error", message="lost to the farm (infrastructure)")
            error.text = run["message"]
    for run_id in summary["missing"]:
        case = ET.SubElement(suite, "testcase", classname="missing", name=run_id, time="0")
        ET.SubElement(
            case,
            "skipped",
            message="no result: the regression was stopped before this run",
        )
    root = ET.Element("testsuites")
    if counts["planned"] or not summary.get("formal"):  # a formal-only regression: no empty suite
        root.append(suite)
    if summary.get("formal"):
        root.append(formal_suite(summary["regression"], summary["formal"]))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def formal_suite(regression: str, formal: dict) -> ET.Element:
    """One testcase per formal property (a bounded one passes: its depth is a property, and the
    gate's formal_min_depth judges it); formal runs without a result are skipped testcases."""
    rows = formal["properties"]
    suite = ET.Element(
        "testsuite",
        name=f"asicdv.{regression}.formal",
        tests=str(len(rows) + formal["counts"]["missing"]),
        failures=str(sum(r["verdict"] == "failed" for r in rows)),
        errors=str(sum(r["status"] != "pass" and r["verdict"] != "failed" for r in rows)),
        skipped=str(formal["counts"]["missing"]),
        time=f"{formal['wall_s']:.3f}",
    )
    for r in rows:
        case = ET.SubElement(suite, "testcase", classname=r["run"], name=r["property"], time=f"{r['seconds']:.3f}")
        props = ET.SubElement(case, "properties")
        for name in ("verdict", "depth", "mode", "location", "counterexample", "waves", "reproduce", "replay"):
            if r.get(name) is not None:
                ET.SubElement(props, "property", name=name, value=str(r[name]))
        if r["verdict"] == "failed":
            failure = ET.SubElement(case, "failure", message=f"failed at step {r['depth']}")
            failure.text = f"counterexample {r['counterexample']}\nreplay: {r['replay']}"
        elif r["status"] == "infrastructure":
            error = ET.SubElement(case, "error", message="infrastructure: the formal run had no verdict")
            error.text = r["location"]
        elif r.get("fill") and not r["fill"]["filled"]:
            failure = ET.SubElement(case, "failure", message="reachable, but its witness did not fill the bin")
            failure.text = f"{r['fill']['message']}\nreproduce: {r['fill']['reproduce']}"
        elif r["status"] == "fail":
            error = ET.SubElement(case, "error", message=f"{r['verdict']}: the formal tools failed")
            error.text = r["location"]
    for run_id in formal["missing"]:
        case = ET.SubElement(suite, "testcase", classname="missing", name=run_id, time="0")
        ET.SubElement(case, "skipped", message="no result: the regression was stopped before this formal run")
    return suite


def duration_svg(runs: list[dict]) -> str:
    """Wall time of every run, longest first, as inline SVG (no file, no font download)."""
    if not runs:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ordered = sorted(runs, key=lambda r: r["wall_s"], reverse=True)[:LONGEST_RUNS]
    height = max(2.0, 0.18 * len(ordered) + 0.8)
    figure = Figure(figsize=(8, height))
    axes = figure.subplots()
    colours = ["#2e7d32" if r["status"] == "pass" else "#c62828" for r in ordered]
    axes.barh(range(len(ordered)), [r["wall_s"] for r in ordered], color=colours)
    axes.set_yticks(range(len(ordered)), [f"{r['key']} #{r['seed']}" for r in ordered], fontsize=6)
    axes.invert_yaxis()
    shown = f"the {len(ordered)} longest of {len(runs)} runs" if len(runs) > len(ordered) else "every run"
    axes.set_xlabel(f"wall time per run (s), {shown}; red = failed")
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _matrix(runs: list[dict]) -> list[dict]:
    """Rows of test x variant (with parameters), each with its runs by seed."""
    rows: dict[str, list[dict]] = defaultdict(list)
    for run in runs:
        rows[run["key"]].append(run)
    return [
        {
            "key": key,
            "runs": sorted(members, key=lambda r: (r["status"] == "pass", r["seed"]))[:BADGES_PER_ROW],
            "more": max(0, len(members) - BADGES_PER_ROW),
            "failed": sum(m["status"] == "fail" for m in members),
        }
        for key, members in sorted(rows.items())
    ]


RUN_ROWS = """{% if pages > 1 %}<p class="pager">runs page {{ page }} of {{ pages }} (failures first):
{% for n in range(1, pages + 1) %}{% if n == page %}<b>{{ n }}</b>{% else %}<a href="{{ page_name(n) }}">{{ n }}</a>{% endif %}
{% endfor %}</p>{% endif %}
<table id="runs"><thead><tr><th>run</th><th>status</th><th>wall s</th><th>sim ns</th><th>links</th><th>reproduce</th></tr></thead>
<tbody>{% for r in rows %}<tr class="run" data-status="{{ r.status }}"><td>{{ r.id }}</td>
<td class="{{ r.status }}">{{ r.status }}{% if r.flaky %} (flaky){% endif %}</td>
<td class="num">{{ '%.2f' % r.wall_s }}</td><td class="num">{{ r.sim_time_ns if r.sim_time_ns is not none else '' }}</td>
<td>{% if r.log %}<a href="{{ r.log }}">log</a>{% endif %} {% if r.waves %}<a href="{{ r.waves }}">waves</a>{% endif %}</td>
<td><code>{{ r.reproduce }}</code></td></tr>{% endfor %}</tbody></table>
"""

ENVIRONMENT = jinja2.Environment(autoescape=True, loader=jinja2.DictLoader({"runs": RUN_ROWS}))

RUNS_PAGE = ENVIRONMENT.from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<title>asicdv regression {{ s.regression }}: runs page {{ page }}</title>
<style>body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; } table { border-collapse: collapse; }
td, th { border: 1px solid #ddd; padding: 2px 8px; } .fail { color: #c62828; font-weight: bold; }</style></head><body>
<h1>Regression <code>{{ s.regression }}</code>: runs</h1><p><a href="report.html">back to the report</a></p>
{% include "runs" %}
</body></html>
"""
)

TEMPLATE = ENVIRONMENT.from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<title>asicdv regression {{ s.regression }}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { margin: 0 0 .2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
th { background: #f3f3f3; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #2e7d32; } .fail { color: #c62828; font-weight: bold; }
.badge { display: inline-block; padding: 0 5px; margin: 1px; border-radius: 3px; color: #fff; font-size: 12px; }
.badge.pass { background: #2e7d32; } .badge.fail { background: #c62828; } a.badge { text-decoration: none; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; } .card { border: 1px solid #ccc; border-radius: 6px; padding: .5em 1em; }
.card b { display: block; font-size: 24px; } code, pre { background: #f6f6f6; font-size: 12px; }
pre { padding: .5em; white-space: pre-wrap; max-height: 12em; overflow: auto; }
</style></head><body>
<h1>Regression <code>{{ s.regression }}</code></h1>
<p>file <code>{{ s.file }}</code> &middot; master seed <code id="master-seed">{{ s.seed }}</code>
 (<code>{{ s.replay_command }}</code> replays it) &middot; planned {{ s.created }}
 &middot; written {{ s.written }}</p>
<div class="cards">
 <div class="card">runs planned<b id="planned-runs">{{ c.planned }}</b></div>
 <div class="card">passed<b id="passed-runs" class="pass">{{ c.passed }}</b></div>
 <div class="card">failed<b id="failed-runs" class="{{ 'fail' if c.failed else '' }}">{{ c.failed }}</b></div>
 <div class="card">no result<b id="missing-runs">{{ c.missing }}</b></div>
 <div class="card">pass rate<b id="pass-rate">{{ '%.2f' % s.pass_rate }}%</b></div>
 <div class="card">failure buckets<b id="bucket-count">{{ s.buckets|length }}</b></div>
 <div class="card">wall time<b id="wall-time">{{ '%.1f' % s.wall_s }} s</b></div>
</div>
{% if c.missing %}<p class="fail">Incomplete: {{ c.missing }} run(s) have no result;
 <code>{{ s.resume_command }}</code> runs them.</p>{% endif %}

<h2>Compared with the previous run in this folder</h2>
{% if s.previous %}
<p>previous written {{ s.previous.written }} (seed {{ s.previous.seed }})</p>
<table id="diff"><tr><th>new failures</th><td id="new-failures">{{ s.previous.new_failures|length }}</td>
<td>{{ s.previous.new_failures|join(', ') }}</td></tr>
<tr><th>fixed</th><td id="fixed">{{ s.previous.fixed|length }}</td><td>{{ s.previous.fixed|join(', ') }}</td></tr>
<tr><th>still failing</th><td>{{ s.previous.still_failing|length }}</td><td>{{ s.previous.still_failing|join(', ') }}</td></tr>
<tr><th>flaky (failed, then passed with the same seed)</th><td id="flaky">{{ s.previous.flaky|length }}</td>
<td>{{ s.previous.flaky|join(', ') }}</td></tr></table>
{% else %}<p>No previous run in this folder.</p>{% endif %}

<h2>Across nights</h2>
{% if s.history %}
<p id="nights">{{ s.history.nights }} night(s) of <code>{{ s.regression }}</code> in the results database
 (this one is night {{ s.history.night }}; <code>asicdv history --regression {{ s.regression }}</code>)</p>
<img id="trends" src="{{ s.history.plot }}" alt="pass rate, wall time and coverage per night">
{% if s.history.buckets %}<table id="bucket-history"><tr><th>failure signature</th><th>first night</th><th>first commit</th>
<th>still failing since night</th></tr>{% for b in s.history.buckets %}<tr><td><code>{{ b.signature }}</code></td>
<td class="num">{{ b.first_night }}</td><td><code>{{ (b.first_commit or '-')[:10] }}</code></td>
<td class="num">{{ b.still_failing_since }}</td></tr>{% endfor %}</table>{% endif %}
{% if s.history.formal %}<table id="formal-history"><tr><th>formal property</th><th>first failed night</th><th>first commit</th>
<th>still failing since night</th><th>verdict now</th></tr>{% for p in s.history.formal %}<tr><td><code>{{ p.key }}</code></td>
<td class="num">{{ p.first_night }}</td><td><code>{{ (p.first_commit or '-')[:10] }}</code></td>
<td class="num">{{ p.still_failing_since }}</td><td>{{ p.last_verdict }}</td></tr>{% endfor %}</table>{% endif %}
{% if s.history.tests %}<table id="test-rates"><tr><th>test</th><th>runs</th><th>failure rate</th><th>flake rate</th></tr>
{% for name, f in s.history.tests|dictsort %}<tr><td>{{ name }}</td><td class="num">{{ f.runs }}</td>
<td class="num">{{ '%.1f' % f.failure_rate }}%</td><td class="num">{{ '%.1f' % f.flake_rate }}%</td></tr>{% endfor %}
</table>{% endif %}
{% else %}<p>Not recorded in a results database (<code>--no-history</code>).</p>{% endif %}

<h2>Failure buckets</h2>
{% if s.buckets %}
<table id="buckets"><tr><th>count</th><th>signature (numbers, hex, paths stripped)</th><th>tests</th><th>first seeds</th></tr>
{% for b in s.buckets %}<tr class="bucket"><td class="num bucket-count">{{ b.count }}</td>
<td><code>{{ b.signature }}</code><pre>{{ b.message }}</pre></td><td>{% for t in b.tests %}{{ t }}<br>{% endfor %}</td><td>
{% for r in b.runs %}<div>seed {{ r.seed }}: <code>{{ r.reproduce }}</code>
 {% if r.log %}<a href="{{ r.log }}">log</a>{% endif %} {% if r.waves %}<a href="{{ r.waves }}">waves</a>{% endif %}
 {% if r.flaky %}<b class="flaky">flaky</b> (passed when rerun with the same seed){% endif %}
 {% if r.reproducible %}<b class="reproducible">seed-dependent</b> (fails again with this seed){% endif %}
 {% if r.picture %}<br><img class="wave" src="{{ r.picture }}" alt="waveform: the cycles before the failure">
 <a href="{{ r.gtkw }}">GTKWave view</a>{% endif %}</div>{% endfor %}</td></tr>{% endfor %}
</table>
{% else %}<p class="pass">No failure.</p>{% endif %}

<h2>Results: test &times; variant &times; seed</h2>
<table id="matrix"><tr><th>block/variant/test</th><th>runs (seed)</th></tr>
{% for row in matrix %}<tr><td>{{ row.key }}</td><td>{% for r in row.runs %}<a class="badge {{ r.status }}"
 href="{{ r.log or '#' }}" title="{{ r.signature or 'pass' }}">{{ r.seed }}</a>{% endfor %}
 {% if row.more %}and {{ row.more }} more (failures first; every run is in the run pages){% endif %}</td></tr>{% endfor %}
</table>

<h2>Formal properties</h2>
{% if s.formal %}{% set f = s.formal %}
<p id="formal-counts">{{ f.counts.properties }} properties from {{ f.counts.done }} of {{ f.counts.planned }} formal runs:
{% for v, n in f.counts.verdicts|dictsort %}{{ n }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}
{% if f.min_bounded_depth is not none %}&middot; shallowest bound {{ f.min_bounded_depth }}{% endif %}
{% if f.hosts %}&middot; ran on {{ f.hosts|join(', ') }}{% endif %}</p>
{% if f.missing %}<p class="fail">{{ f.missing|length }} formal run(s) have no result: {{ f.missing|join(', ') }}</p>{% endif %}
<table id="formal"><thead><tr><th>run</th><th>property</th><th>verdict</th><th>depth</th><th>s</th><th>links</th>
<th>reproduce</th></tr></thead><tbody>
{% for r in f.properties|sort(attribute='status') %}<tr class="property" data-verdict="{{ r.verdict }}"><td>{{ r.run }}</td>
<td>{{ r.property }}</td><td class="{{ r.status }}">{{ r.verdict }}</td><td class="num">{{ r.depth }}</td>
<td class="num">{{ '%.1f' % r.seconds }}</td><td>{% if r.links.counterexample %}<a href="{{ r.links.counterexample }}">counterexample</a>{% endif %}
{% if r.links.waves %}<a href="{{ r.links.waves }}">waves</a>{% endif %}</td>
<td><code>{{ r.replay or (r.fill.reproduce if r.fill and not r.fill.filled else r.reproduce) }}</code>{% if r.verdict in ('error', 'infrastructure') %}<pre>{{ r.location }}</pre>{% endif %}</td></tr>{% endfor %}
</tbody></table>
{% else %}<p>No formal entry (<code>formal: true</code>) in this regression.</p>{% endif %}

<h2>Every run</h2>
{% include "runs" %}

<h2>Durations</h2>
{{ svg|safe }}

<h2>Builds</h2>
<table id="builds"><tr><th>configuration</th><th>build s</th><th>from cache</th><th>error</th></tr>
{% for label, b in s.builds|dictsort %}<tr><td>{{ label }}</td><td class="num">{{ '%.1f' % b.seconds }}</td>
<td>{{ 'yes' if b.cached else 'no' }}</td><td>{% if b.error %}<pre>{{ b.error }}</pre>{% endif %}</td></tr>{% endfor %}
</table>

<h2>Functional coverage</h2>
{% if s.functional_coverage %}
<p>total <b id="functional-coverage">{{ '%.2f' % s.functional_coverage.percent }}%</b> of bins hit</p>
<table id="coverpoints"><tr><th>coverpoint</th><th>bins hit</th><th>%</th><th>holes</th><th>excluded (proved unreachable)</th><th>filled from a formal witness</th></tr>
{% for name, p in s.functional_coverage.coverpoints|dictsort %}<tr><td>{{ name }}</td>
<td class="num">{{ p.hit }}/{{ p.bins }}</td><td class="num">{{ '%.1f' % p.percent }}</td>
<td>{% for h in p.holes %}{{ h }}{% if p.witnesses and p.witnesses[h] %} (<a href="{{ p.witnesses[h].link }}">reachable: witness</a>){% endif %}{% if not loop.last %}, {% endif %}{% endfor %}</td>
<td>{% for b, why in (p.excluded or {})|dictsort %}<span title="{{ why }}">{{ b }}</span>{% if not loop.last %}, {% endif %}{% endfor %}</td>
<td>{% for b, f in (p.filled or {})|dictsort %}<span class="filled" title="{{ f.reproduce }}">{{ b }} by {{ f.test }} from <a href="{{ f.link }}">witness</a></span>{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>{% endfor %}</table>
{% else %}<p>No run wrote coverage.json.</p>{% endif %}

<h2>Code coverage</h2>
{% if s.code_coverage %}<table>{% for block, figures in s.code_coverage.summary|dictsort %}<tr><td>{{ block }}</td>
{% for kind, pct in figures|dictsort %}<td>{{ kind }} {{ ('%.1f%%' % pct) if pct is not none else 'n/a' }}</td>
{% endfor %}</tr>{% endfor %}</table>
<p><a href="{{ s.code_coverage.html }}">annotated sources (HTML)</a>, lcov and Cobertura files in the same folder</p>
{% else %}<p>Not requested (an entry with <code>coverage: true</code>), or not available in this checkout.</p>{% endif %}

<h2>Sessions</h2>
<table><tr><th>mode</th><th>started</th><th>wall s</th><th>executor</th><th>-j</th><th>interrupted</th></tr>
{% for x in s.sessions %}<tr><td>{{ x.mode }}</td><td>{{ x.started }}</td><td class="num">{{ x.wall_s }}</td>
<td>{{ x.executor }}</td><td>{{ x.jobs }}</td><td>{{ x.interrupted }}</td></tr>{% endfor %}</table>
</body></html>
"""
)


# No script of any kind, nothing fetched from elsewhere: the page's own styles, the inline SVG plot and
# the images beside it in the results folder (trend plot, waveform pictures). Everything a user file or
# a test names is escaped (autoescape); the SVG is matplotlib's (it escapes its labels).
CSP = (
    "default-src 'none'; script-src 'none'; object-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data: file:; base-uri 'none'; form-action 'none'"
)


def render_html(summary: dict, rows: list[dict] | None = None, pages: int = 1) -> str:
    invocation = str(summary.get("invocation", summary["regression"]))
    summary = {  # a summary.json written before these were part of it
        "replay_command": shlex.join(["asicdv", "regress", invocation, "--seed", str(summary["seed"])]),
        "resume_command": shlex.join(["asicdv", "regress", invocation, "--resume"]),
        **summary,
    }
    return TEMPLATE.render(
        csp=markupsafe.Markup(CSP),  # a constant of ours, not user text
        s=summary,
        c=summary["counts"],
        matrix=_matrix(summary["runs"]),
        svg=duration_svg(summary["runs"]),
        rows=summary["runs"] if rows is None else rows,
        page=1,
        pages=pages,
        page_name=page_name,
    )
