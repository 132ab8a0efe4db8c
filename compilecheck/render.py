"""Layouts of a report: the terminal table and the bug-ticket markdown."""
from __future__ import annotations

from tabulate import tabulate

ICON = {"pass": "pass", "warn": "WARN", "fail": "FAIL", "skip": "skip", "n/a": "n/a"}


def _f(x, fmt="{:.2f}"):
    return "" if x is None else fmt.format(x)


def cell_rows(cells, full=True):
    rows = []
    for c in cells:
        classes = ", ".join(dict.fromkeys(c.classes)) or (
            f"(predicted: {c.predicted})" if c.predicted else "")
        row = [c.variant, c.mode, c.cudagraphs, ICON[c.status], classes,
               _f(c.compile_s, "{:.1f}"), _f(c.eager_ms, "{:.3f}"), _f(c.compiled_ms, "{:.3f}"),
               _f(c.speedup), _f(c.max_abs_err, "{:.2g}")]
        if full:
            row += [c.graphs if c.graphs is not None else "",
                    c.recompiles if c.recompiles is not None else "",
                    c.graph_breaks if c.graph_breaks is not None else "",
                    c.cudagraph_skips if c.cudagraph_skips is not None else ""]
        if c.role != "matrix":
            row[0] = f"{c.variant} [rung {c.role}]"
        rows.append(row)
    return rows


HEAD = ["variant", "mode", "cudagraphs", "status", "findings", "compile s", "eager ms",
        "compiled ms", "speedup", "max err"]
HEAD_FULL = HEAD + ["graphs", "recompiles", "breaks", "cg skips"]


def cell_name(c) -> str:
    role = f" [rung {c.role}]" if c.role != "matrix" else ""
    return f"{c.variant}/{c.mode}/cudagraphs {c.cudagraphs}{role}"


def grouped_findings(cells):
    """[(finding, [cell names])], each distinct finding once, in the order first seen."""
    groups: dict = {}
    for c in cells:
        for f in c.findings:
            key = (f["class"], f.get("where"), f["detail"])
            groups.setdefault(key, (f, []))[1].append(cell_name(c))
    return list(groups.values())


def knob_rows(knobs):
    return [[k["name"], k["value"], {True: "yes", False: "NO", None: "?"}[k.get("read_by_torch")],
             k["verdict"], k["advice"]] for k in knobs]


KNOB_HEAD = ["variable", "value", "read by torch", "verdict", "advice"]


def knob_table(knobs, advice_width: int) -> str:
    if not knobs:
        return "  no TORCH*/PYTORCH_*/OPENPI_*/CUDA_LAUNCH_BLOCKING variables set"
    return tabulate(knob_rows(knobs), KNOB_HEAD, tablefmt="simple",
                    maxcolwidths=[None, 12, None, None, advice_width])


def ladder_rows(ladder):
    return [[r.rung, r.name, ICON.get(r.status, r.status), _f(r.speedup), r.why]
            for r in ladder]


def _env_line(env):
    keys = ("torch", "python", "device", "gpu", "cuda")
    return ", ".join(f"{k} {env[k]}" for k in keys if env.get(k))


def table(report) -> str:
    out = [f"compilecheck: {report.verdict} ({_env_line(report.environment)}; "
           f"target mode {report.target_mode})", ""]
    out.append(tabulate(cell_rows(report.cells), HEAD_FULL, tablefmt="simple"))
    groups = grouped_findings(report.cells)
    if groups:
        out += ["", "Findings (each once, with the cells that show it):"]
        for f, cells in groups:
            where = f" [{f['where']}]" if f.get("where") else ""
            out.append(f"  {f['class']}{where}: {f['detail']}")
            out.append(f"      cells: {', '.join(cells)}")
    out += ["", "Environment knobs:", knob_table(report.knobs, 70)]
    out += ["", f"Ladder (target mode {report.target_mode}):",
            tabulate(ladder_rows(report.ladder), ["rung", "name", "status", "speedup", "why"],
                     tablefmt="simple", maxcolwidths=[None, None, None, None, 90])]
    out += ["", f"Recommendation: {report.recommendation.get('summary')}"]
    if report.interrupted:
        out += ["", "INTERRUPTED: cells not finished are marked skip (interrupted)."]
    return "\n".join(out)


def markdown(report) -> str:
    rec = report.recommendation
    out = [f"## compilecheck: {report.verdict}", "",
           f"**Recommendation:** {rec.get('summary')}", "",
           f"Target mode `{report.target_mode}`; {_env_line(report.environment)}.", ""]
    groups = grouped_findings(report.cells)
    if groups:
        out += ["### Findings", ""]
        for f, cells in groups:
            where = f" at `{f['where']}`" if f.get("where") else ""
            out.append(f"- **`{f['class']}`**{where}: {_md(f['detail'])}  ")
            out.append(f"  Cells: {', '.join(cells)}")
        out.append("")
    out += ["### Ladder", "",
            tabulate([[_md(str(x)) for x in r] for r in ladder_rows(report.ladder)],
                     ["rung", "name", "status", "speedup", "why"], tablefmt="github"), ""]
    bad_knobs = [k for k in report.knobs if k["verdict"] != "ok"]
    if bad_knobs:
        out += ["### Environment knobs that do not do what they seem", ""]
        out += [f"- `{k['name']}={k['value']}`: {k['verdict']}: {_md(k['advice'])}"
                for k in bad_knobs]
        out.append("")
    out += ['<details markdown="1"><summary>All cells</summary>', "",
            tabulate([[_md(str(x)) for x in r] for r in cell_rows(report.cells)], HEAD_FULL,
                     tablefmt="github"), "", "</details>", "",
            '<details markdown="1"><summary>Environment</summary>', "",
            tabulate([[k, _md(str(v))] for k, v in report.environment.items()
                      if not isinstance(v, (dict, list))], ["key", "value"], tablefmt="github"),
            ""]
    if report.knobs:
        out += [tabulate([[_md(str(x)) for x in r] for r in knob_rows(report.knobs)],
                         KNOB_HEAD, tablefmt="github"), ""]
    out += ["</details>", ""]
    return "\n".join(out)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def env_text(env: dict, knobs: list) -> str:
    rows = [[k, v] for k, v in env.items() if not isinstance(v, (dict, list)) and v not in
            (None, "")]
    out = ["Environment:", tabulate(rows, tablefmt="plain"), "", "Compile config (as torch "
           "resolves it):", tabulate(sorted(env.get("config", {}).items()), tablefmt="plain"),
           "", "Knobs:", knob_table(knobs, 80)]
    return "\n".join(out)
