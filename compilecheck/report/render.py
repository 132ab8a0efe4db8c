"""Layouts of a report: the terminal table and the bug-ticket markdown. Both say, in order:
the cells, what forward writes (the state audit), the findings, the call patterns, the knobs,
the ladder and the recommendation (markdown: the recommendation first, details folded)."""
from __future__ import annotations

from tabulate import tabulate

from .writetable import WRITE_HEAD, _audit_title, write_rows

ICON = {"pass": "pass", "warn": "WARN", "fail": "FAIL", "skip": "skip", "n/a": "n/a"}


def _f(x, fmt="{:.2f}"):
    return "" if x is None else fmt.format(x)


def _n(x):
    return "" if x is None else x


def cell_label(c) -> str:
    at = "" if getattr(c, "scope", "whole") == "whole" else \
        " @" + ".".join(c.scope.split(".")[-3:])  # a representative instance
    if c.role == "call-pattern":
        return f"{c.variant}{at} [{c.pattern}]"
    return (f"{c.variant} [rung {c.role}]" if c.role != "matrix" else c.variant) + at


def profile_note(c) -> str:
    """The profile's one short column: the user function that makes most of the graph."""
    top = ((c.compile_profile or {}).get("top_sources") or [None])[0]
    return f"{top['function']} {top['share']:.0%}" if top else ""


def cell_rows(cells, full=True):
    rows = []
    for c in cells:
        classes = ", ".join(dict.fromkeys(c.classes)) or (
            f"(predicted: {c.predicted})" if c.predicted else "")
        mode = f"{c.mode} (= {c.same_as})" if getattr(c, "same_as", None) else c.mode
        row = [cell_label(c), mode, c.cudagraphs, ICON[c.status], classes,
               _f(c.compile_s, "{:.1f}"), _f(c.eager_ms, "{:.3f}"), _f(c.compiled_ms, "{:.3f}"),
               _f(c.speedup), _f(c.max_abs_err, "{:.2g}")]
        if full:
            row += [_n(c.graphs), _n(c.recompiles), _n(c.graph_breaks), _n(c.cudagraph_skips),
                    profile_note(c)]
        rows.append(row)
    return rows


HEAD = ["variant", "mode", "cudagraphs", "status", "findings", "compile s", "eager ms",
        "compiled ms", "speedup", "max err"]
HEAD_FULL = HEAD + ["graphs", "recompiles", "breaks", "cg skips", "graph made by"]


def cell_name(c) -> str:
    return f"{cell_label(c)}/{c.mode}/cudagraphs {c.cudagraphs}"


def grouped_findings(cells):
    """[(finding, [cell names])], each distinct finding once, most severe first (the same
    finding measured in several cells differs only in its figures)."""
    from .screen import finding_groups

    return [(g["finding"], [cell_name(c) for c in g["cells"]]) for g in finding_groups(cells)]


def knob_rows(knobs):
    return [[k["name"], k["value"], {True: "yes", False: "NO", None: "?"}[k.get("read_by_torch")],
             k["verdict"], k["advice"]] for k in knobs]


KNOB_HEAD = ["variable", "value", "read by torch", "verdict", "advice"]


def knob_table(knobs, advice_width: int) -> str:
    if not knobs:
        return "  no TORCH*/PYTORCH_*/OPENPI_*/CUDA_LAUNCH_BLOCKING variables set"
    return tabulate(knob_rows(knobs), KNOB_HEAD, tablefmt="simple",
                    maxcolwidths=[None, 12, None, None, advice_width])


def _speed(r):
    if r.speedup is None:
        return ""
    rng = getattr(r, "speedup_range", None)
    return f"{r.speedup:.2f}" + (f" [{rng[0]:.2f}-{rng[1]:.2f}]" if rng else "")


def ladder_rows(ladder):
    return [[r.rung, r.name, ICON.get(r.status, r.status), _speed(r),
             "keeps" if getattr(r, "keeps_numerics", True) else "CHANGES", r.why]
            for r in ladder]


LADDER_HEAD = ["rung", "name", "status", "speedup", "numerics", "why"]


def pattern_rows(cells):
    from ..vocab.callpatterns import PATTERNS

    rows = []
    for c in cells:
        if c.role != "call-pattern":
            continue
        what = "; ".join(f"{f['class']}: {f['detail']}" for f in c.findings) or c.error or (
            "no problem seen")
        p = PATTERNS.get(c.pattern)
        rows.append([c.pattern, ICON[c.status], p.summary if p else "", what])
    return rows


PATTERN_HEAD = ["call pattern", "status", "the caller", "what was seen"]


def _env_line(env):
    keys = ("torch", "python", "device", "gpu", "cuda")
    return ", ".join(f"{k} {env[k]}" for k in keys if env.get(k))


def estimate_lines(est) -> list[str]:
    if not est:
        return []
    return [est["summary"], *(f"  {line}" for line in est.get("notes", []))]


COLD_HEAD = ["row", "first call s", "steady ms [p25, p75]", "max err", "graphs", "recomp.",
             "episode s", "do this (or why not measured)"]


def cold_rows(rows) -> list[list]:
    out = []
    for r in rows:
        if not r.get("measured"):
            why = " ".join((r.get("error") or "").split())  # one line: a torch error has many
            out.append([r["name"], "-", "-", "-", "-", "-", "-",
                        f"{r.get('status')}: {why[:240] + ('...' if len(why) > 240 else '')}"])
            continue
        lo, hi = r.get("spread") or (r["steady_ms"], r["steady_ms"])
        note = "" if r.get("same_numerics", True) else "(numerics differ) "
        out.append([r["name"], _f(r["compile_s"], "{:.1f}"),
                    f"{r['steady_ms']:.3g} [{lo:.3g}, {hi:.3g}]", f"{r['max_abs_err']:.1e}",
                    _n(r.get("graphs")), _n(r.get("recompiles")), _f(r.get("episode_s"), "{:.1f}"),
                    note + r.get("do_this", "")
                    + (f" (slower per call: {r['slower_why']})" if r.get("slower_why") else "")])
    return out


def cold_title(report) -> str:
    calls = (report.cold_start_recommendation or {}).get("calls")
    return (f"Cold start (target mode {report.target_mode}; each row a fresh process with its "
            f"own cache folders; episode = first call + {calls} calls):")


def table(report, details: bool = True) -> str:
    """The first screen (screen.py), then with ``details`` the full tables."""
    from .screen import screen

    out = [screen(report)]
    if not details:
        return out[0]
    out += ["", "=" * 40 + " details " + "=" * 40, "", "Cells:"]
    out.append(tabulate(cell_rows(report.cells), HEAD_FULL, tablefmt="simple"))
    if report.state_writes:
        out += ["", "State writes (what forward writes, seen in eager calls before any "
                "compile):"]
        for variant, audit in report.state_writes.items():
            out.append(f"  {_audit_title(variant, audit)}")
            if audit["writes"]:
                out.append(tabulate(write_rows(audit["writes"]), WRITE_HEAD, tablefmt="simple",
                                    maxcolwidths=[None, None, None, None, None, 48]))
            else:
                out.append("    forward writes no module state")
    groups = grouped_findings(report.cells)
    if groups:
        out += ["", "Findings (each once, with the cells that show it):"]
        for f, cells in groups:
            where = f" [{f['where']}]" if f.get("where") else ""
            out.append(f"  {f['class']}{where}: {f['detail']}")
            out.append(f"      cells: {', '.join(cells)}")
    rows = pattern_rows(report.cells)
    if rows:
        out += ["", "Call patterns (the module warmed up, in the target mode):",
                tabulate(rows, PATTERN_HEAD, tablefmt="simple",
                         maxcolwidths=[None, None, 30, 80])]
    out += ["", "Environment knobs:", knob_table(report.knobs, 70)]
    out += ["", f"Ladder (target mode {report.target_mode}):",
            tabulate(ladder_rows(report.ladder), LADDER_HEAD, tablefmt="simple",
                     maxcolwidths=[None, None, None, None, None, 80])]
    if report.estimate:
        out += ["", "Whole policy (measured):" if report.estimate.get("measured") else
                "Whole policy (an estimate):", *estimate_lines(report.estimate)]
    if report.cold_start:
        out += ["", cold_title(report),
                tabulate(cold_rows(report.cold_start), COLD_HEAD, tablefmt="simple",
                         maxcolwidths=[None] * 7 + [70]),
                "Cold start: " + (report.cold_start_recommendation or {}).get("summary", "")]
    out += ["", f"Recommendation: {report.recommendation.get('summary')}"]
    if report.interrupted:
        out += ["", "INTERRUPTED: cells not finished are marked skip (interrupted)."]
    return "\n".join(out)


def _md_table(rows, head) -> str:
    return tabulate([[_md(str(x)) for x in r] for r in rows], head, tablefmt="github")


def markdown(report) -> str:
    rec = report.recommendation
    out = [f"## compilecheck: {report.verdict}", "",
           f"**Recommendation:** {rec.get('summary')}", "",
           f"**{_md(_cold_summary(report))}**", "",
           f"Target mode `{report.target_mode}`; {_env_line(report.environment)}.", ""]
    groups = grouped_findings(report.cells)
    if groups:
        out += ["### Findings", ""]
        for f, cells in groups:
            where = f" at `{f['where']}`" if f.get("where") else ""
            out.append(f"- **`{f['class']}`**{where}: {_md(f['detail'])}  ")
            out.append(f"  Cells: {', '.join(cells)}")
        out.append("")
    out += internal_errors(report.cells)
    if report.ticket:  # diagnose --ticket: the repro scripts and traces beside this report
        out += ["### Reproduce (files beside this report)", ""]
        out += [f"- `python {e['file']}`: {_md(e['cell'])}" + "".join(
            f"; trace: `tlparse {t} -o OUT --no-browser`" for t in e["traces"])
            for e in report.ticket] + [""]
    out += ["### Ladder", "", _md_table(ladder_rows(report.ladder), LADDER_HEAD), ""]
    if report.estimate:
        title = "measured" if report.estimate.get("measured") else "an estimate"
        out += [f"### Whole policy ({title})", "", *estimate_lines(report.estimate), ""]
    if report.cold_start:
        out += ["### Cold start", "", _md(cold_title(report)), "",
                _md_table(cold_rows(report.cold_start), COLD_HEAD), ""]
    if report.state_writes:
        out += ["### What forward writes", ""]
        for variant, audit in report.state_writes.items():
            out += [f"**{_md(_audit_title(variant, audit))}**", ""]
            out += [_md_table(write_rows(audit["writes"]), WRITE_HEAD)
                    if audit["writes"] else "Forward writes no module state.", ""]
    rows = pattern_rows(report.cells)
    if rows:
        out += ["### Call patterns", "", _md_table(rows, PATTERN_HEAD), ""]
    bad_knobs = [k for k in report.knobs if k["verdict"] != "ok"]
    if bad_knobs:
        out += ["### Environment knobs that do not do what they seem", ""]
        out += [f"- `{k['name']}={k['value']}`: {k['verdict']}: {_md(k['advice'])}"
                for k in bad_knobs]
        out.append("")
    out += ['<details markdown="1"><summary>All cells</summary>', "",
            _md_table(cell_rows(report.cells), HEAD_FULL), "", "</details>", ""]
    profiles = [c for c in report.cells if c.compile_profile]
    if profiles:
        from ..observe.profile import profile_lines

        out += ['<details markdown="1"><summary>Compile profiles</summary>', ""]
        for c in profiles:
            out += [f"**{_md(cell_name(c))}**", "", *profile_lines(c.compile_profile), ""]
        out += ["</details>", ""]
    out += ['<details markdown="1"><summary>Environment</summary>', "",
            tabulate([[k, _md(str(v))] for k, v in report.environment.items()
                      if not isinstance(v, (dict, list))], ["key", "value"], tablefmt="github"),
            ""]
    if report.knobs:
        out += [_md_table(knob_rows(report.knobs), KNOB_HEAD), ""]
    out += ["</details>", ""]
    return "\n".join(out)


def internal_errors(cells) -> list[str]:
    """compilecheck's own failures, each traceback once, folded: what to send us."""
    seen = dict.fromkeys(c.traceback for c in cells if c.traceback)
    if not seen:
        return []
    out = ['<details markdown="1"><summary>compilecheck internal error: a bug in compilecheck, '
           'not in your module (please send this block to its maintainers)</summary>', ""]
    for tb in seen:
        out += ["```", tb.rstrip(), "```", ""]
    return out + ["</details>", ""]


def _cold_summary(report) -> str:
    from ..decide.coldstart import NOT_MEASURED

    cold = (getattr(report, "cold_start_recommendation", None) or {}).get("summary")
    return f"Cold start: {cold}" if cold else NOT_MEASURED


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def env_text(env: dict, knobs: list) -> str:
    rows = [[k, v] for k, v in env.items() if not isinstance(v, (dict, list)) and v not in
            (None, "")]
    out = ["Environment:", tabulate(rows, tablefmt="plain"), "", "Compile config (as torch "
           "resolves it):", tabulate(sorted(env.get("config", {}).items()), tablefmt="plain"),
           "", "Knobs:", knob_table(knobs, 80)]
    return "\n".join(out)
