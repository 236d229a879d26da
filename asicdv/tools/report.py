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


def write_all(out: Path, summary: dict) -> None:
    """Both files, each written whole or not at all (a kill or a full disk leaves the previous one)."""
    scratch = out / f".junit.xml.tmp-{os.getpid()}"
    try:
        write_junit(scratch, summary)
        os.replace(scratch, out / "junit.xml")
    finally:
        scratch.unlink(missing_ok=True)
    from asicdv.tools.regress.results import write_atomic

    write_atomic(out / "report.html", render_html(summary))


def write_junit(path: Path, summary: dict) -> None:
    """One testcase per run; seed, log, waves and reproduce command as properties; missing runs skipped."""
    counts = summary["counts"]
    suite = ET.Element(
        "testsuite",
        name=f"asicdv.{summary['regression']}",
        tests=str(counts["planned"]),
        failures=str(counts["failed"]),
        errors="0",
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
    for run_id in summary["missing"]:
        case = ET.SubElement(suite, "testcase", classname="missing", name=run_id, time="0")
        ET.SubElement(
            case,
            "skipped",
            message="no result: the regression was stopped before this run",
        )
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def duration_svg(runs: list[dict]) -> str:
    """Wall time of every run, longest first, as inline SVG (no file, no font download)."""
    if not runs:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ordered = sorted(runs, key=lambda r: r["wall_s"], reverse=True)
    height = max(2.0, 0.18 * len(ordered) + 0.8)
    figure = Figure(figsize=(8, height))
    axes = figure.subplots()
    colours = ["#2e7d32" if r["status"] == "pass" else "#c62828" for r in ordered]
    axes.barh(range(len(ordered)), [r["wall_s"] for r in ordered], color=colours)
    axes.set_yticks(range(len(ordered)), [f"{r['key']} #{r['seed']}" for r in ordered], fontsize=6)
    axes.invert_yaxis()
    axes.set_xlabel("wall time per run (s); red = failed")
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
            "runs": sorted(members, key=lambda r: r["seed"]),
            "failed": sum(m["status"] == "fail" for m in members),
        }
        for key, members in sorted(rows.items())
    ]


TEMPLATE = jinja2.Template(
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

<h2>Failure buckets</h2>
{% if s.buckets %}
<table id="buckets"><tr><th>count</th><th>signature (numbers, hex, paths stripped)</th><th>tests</th><th>first seeds</th></tr>
{% for b in s.buckets %}<tr class="bucket"><td class="num bucket-count">{{ b.count }}</td>
<td><code>{{ b.signature }}</code><pre>{{ b.message }}</pre></td><td>{% for t in b.tests %}{{ t }}<br>{% endfor %}</td><td>
{% for r in b.runs %}<div>seed {{ r.seed }}: <code>{{ r.reproduce }}</code>
 {% if r.log %}<a href="{{ r.log }}">log</a>{% endif %} {% if r.waves %}<a href="{{ r.waves }}">waves</a>{% endif %}
 {% if r.flaky %}<b>flaky</b>{% endif %}</div>{% endfor %}</td></tr>{% endfor %}
</table>
{% else %}<p class="pass">No failure.</p>{% endif %}

<h2>Results: test &times; variant &times; seed</h2>
<table id="matrix"><tr><th>block/variant/test</th><th>runs (seed)</th></tr>
{% for row in matrix %}<tr><td>{{ row.key }}</td><td>{% for r in row.runs %}<a class="badge {{ r.status }}"
 href="{{ r.log or '#' }}" title="{{ r.signature or 'pass' }}">{{ r.seed }}</a>{% endfor %}</td></tr>{% endfor %}
</table>

<h2>Every run</h2>
<table id="runs"><thead><tr><th>run</th><th>status</th><th>wall s</th><th>sim ns</th><th>links</th><th>reproduce</th></tr></thead>
<tbody>{% for r in s.runs %}<tr class="run" data-status="{{ r.status }}"><td>{{ r.id }}</td>
<td class="{{ r.status }}">{{ r.status }}{% if r.flaky %} (flaky){% endif %}</td>
<td class="num">{{ '%.2f' % r.wall_s }}</td><td class="num">{{ r.sim_time_ns if r.sim_time_ns is not none else '' }}</td>
<td>{% if r.log %}<a href="{{ r.log }}">log</a>{% endif %} {% if r.waves %}<a href="{{ r.waves }}">waves</a>{% endif %}</td>
<td><code>{{ r.reproduce }}</code></td></tr>{% endfor %}</tbody></table>

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
<table id="coverpoints"><tr><th>coverpoint</th><th>bins hit</th><th>%</th><th>holes</th></tr>
{% for name, p in s.functional_coverage.coverpoints|dictsort %}<tr><td>{{ name }}</td>
<td class="num">{{ p.hit }}/{{ p.bins }}</td><td class="num">{{ '%.1f' % p.percent }}</td>
<td>{{ p.holes|join(', ') }}</td></tr>{% endfor %}</table>
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
""",
    autoescape=True,
)


# No script of any kind, no resource from anywhere: only the page's own styles and the inline SVG plot.
# Everything a user file or a test names is escaped (autoescape); the SVG is matplotlib's (it escapes
# its labels); a link goes to a file in the results folder.
CSP = (
    "default-src 'none'; script-src 'none'; object-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def render_html(summary: dict) -> str:
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
    )
