"""``compare``'s layouts: the terminal table, the markdown for a CI summary or a ticket, JSON.
Each says which report each column is (torch, device, GPU, date, file), then the differences
(regressions first), then every cell against every report, the cells that differ first."""
from __future__ import annotations

import json

from tabulate import tabulate

from .compare import ORDER, Column, Row, compare, exit_code, key_label, value

SCHEMA = "compilecheck.compare/1"


def _summary(columns: list[Column], rows: list[Row]) -> str:
    differ = sum(1 for r in rows if r.differences)
    regressions = sum(1 for r in rows if r.regression)
    gate = (f"{regressions} regression(s): a cell that passed in an earlier report fails in a "
            "later one (exit 1)" if regressions else
            "no regression: no cell that passed in an earlier report fails in a later one "
            "(exit 0)")
    return (f"compilecheck compare: {len(columns)} reports, {len(rows)} cells, {differ} with "
            f"differences; {gate}")


def _report_rows(columns: list[Column]) -> list[list[str]]:
    return [[*c.head(), c.path] for c in columns]


REPORT_HEAD = ["report", "torch", "device", "date", "file"]


def _diff_lines(rows: list[Row]) -> list[tuple[str, str, str]]:
    """Every difference, the most important kind first (regressions), then row by row."""
    return sorted(((kind, key_label(r.key), text) for r in rows for kind, text in r.differences),
                  key=lambda d: ORDER.index(d[0]))


def _cell_rows(rows: list[Row]) -> list[list[str]]:
    return [[key_label(r.key), *(value(c) for c in r.cells),
             "; ".join(dict.fromkeys(k for k, _ in r.differences))] for r in rows]


def table(columns: list[Column], rows: list[Row]) -> str:
    out = [_summary(columns, rows), "", tabulate(_report_rows(columns), REPORT_HEAD,
                                                 tablefmt="plain"), ""]
    diffs = _diff_lines(rows)
    out.append("Differences (regressions first):" if diffs else "Differences: none.")
    out += [f"  {kind.upper() if kind == 'regression' else kind}: {cell}: {text}"
            for kind, cell, text in diffs]
    heads = ["cell", *("\n".join(c.head()) for c in columns), "differs"]
    out += ["", tabulate(_cell_rows(rows), heads, tablefmt="simple",
                         maxcolwidths=[48] + [28] * len(columns) + [24])]
    return "\n".join(out)


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(columns: list[Column], rows: list[Row]) -> str:
    out = [f"## {_md(_summary(columns, rows))}", "",
           tabulate([[_md(x) for x in r] for r in _report_rows(columns)], REPORT_HEAD,
                    tablefmt="github"), ""]
    diffs = _diff_lines(rows)
    if diffs:
        out += ["### Differences (regressions first)", ""]
        out += [f"- **{kind}** {_md(cell)}: {_md(text)}" for kind, cell, text in diffs]
        out.append("")
    heads = ["cell", *("<br>".join(c.head()) for c in columns), "differs"]
    out += ['<details markdown="1"><summary>Every cell</summary>', "",
            tabulate([[_md(x) for x in r] for r in _cell_rows(rows)], heads,
                     tablefmt="github"), "", "</details>", ""]
    return "\n".join(out)


def _cell_json(c) -> dict | None:
    if c is None:
        return None
    return {"status": c.status, "classes": list(dict.fromkeys(c.classes)),
            "predicted": c.predicted, "error": c.error, "speedup": c.speedup,
            "speedup_range": c.speedup_range, "compiled_ms": c.compiled_ms,
            "compiled_spread": c.compiled_spread, "compile_s": c.compile_s,
            "device": c.device, "cudagraphs": c.cudagraphs}


def to_json(columns: list[Column], rows: list[Row]) -> str:
    fields = ("variant", "mode", "cudagraphs", "pattern", "scope", "role")
    return json.dumps({
        "schema": SCHEMA, "exit_code": exit_code(rows),
        "regressions": sum(1 for r in rows if r.regression),
        "reports": [c.to_json() for c in columns],
        "differences": [{"kind": kind, "cell": cell, "text": text}
                        for kind, cell, text in _diff_lines(rows)],
        "cells": [{**dict(zip(fields, r.key)), "cell": key_label(r.key),
                   "reports": {col.name: _cell_json(c) for col, c in zip(columns, r.cells)},
                   "differences": [{"kind": k, "text": t} for k, t in r.differences]}
                  for r in rows],
    }, indent=2, default=str)


def render(columns: list[Column], rows: list[Row], fmt: str = "table") -> str:
    return {"table": table, "markdown": markdown, "json": to_json}[fmt](columns, rows)


def compared(paths: list[str], fmt: str = "table") -> tuple[str, int]:
    """``compilecheck compare``: the reports at ``paths`` laid out, and the exit code (1 on a
    regression); ReportError for a file that is not a report."""
    columns, rows = compare(paths)
    return render(columns, rows, fmt), exit_code(rows)
