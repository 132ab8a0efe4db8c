"""``compilecheck compare``: the cells of several reports side by side (one column per report,
earliest first), and what differs between them: a cell that passed and now fails (the
regression CI gates on), a CUDA-graph prediction a GPU run confirmed or refuted, findings that
appeared or went, a speed or compile time that moved beyond what the runs measured as noise.
report/compare_layout.py lays it out."""
from __future__ import annotations

import dataclasses
import json

from .report import Report, ReportError

PASSED = ("pass", "warn")  # diagnose exits 0 on these: the cell passed
# A compile time is one measurement (no spread), and a warm FX graph cache alone cuts it to
# a fraction: it counts as moved at twice or half, and by 5 s or more.
COMPILE_FACTOR, COMPILE_MIN_S = 2.0, 5.0
ORDER = ("regression", "prediction refuted", "prediction confirmed", "fixed",
         "findings", "speed", "compile time")


@dataclasses.dataclass
class Column:
    """One report: its name in the table (A, B, ...), where it came from, what it ran on."""

    name: str
    path: str
    report: Report
    schema: str = ""  # as the file says (a /1 report is read into today's Report)

    @property
    def env(self) -> dict:
        return self.report.environment

    @property
    def machine(self) -> tuple:
        """What speeds are comparable across: the device and the GPU model (or CPU model)."""
        return (self.env.get("device"), self.env.get("gpu") or self.env.get("cpu"))

    def head(self) -> list[str]:
        env = self.env
        return [self.name, f"torch {env.get('torch', '?')}",
                f"{env.get('device', '?')}" + (f" {env['gpu']}" if env.get("gpu") else ""),
                env["date"][:10] if env.get("date") else "date not recorded"]

    def to_json(self) -> dict:
        env = self.env
        return {"name": self.name, "path": self.path, "schema": self.schema,
                **{k: env.get(k) for k in ("torch", "device", "gpu", "cpu", "date")}}


def cell_key(c) -> tuple:
    """What makes two reports' cells the same experiment. A call pattern's cell runs in the
    target mode with the CUDA graphs its device allows, so CUDA graphs are not part of its
    key (a CPU plans it with them off, a GPU with them on)."""
    cg = "-" if c.role == "call-pattern" else c.cudagraphs
    return (c.variant, c.mode, cg, c.pattern, c.scope, c.role)


def key_label(key: tuple) -> str:
    variant, mode, cg, pattern, scope, role = key
    out = f"{variant} / {mode} / " + ("CUDA graphs as the device allows" if cg == "-" else
                                      f"cudagraphs {cg}")
    if role not in ("matrix", "call-pattern"):
        out += f" [rung {role}]"
    if pattern != "loop":
        out += f" [{pattern}]"
    if scope != "whole":
        out += f" [on {scope}]"
    return out


def classes(c) -> list[str]:
    return list(dict.fromkeys(c.classes))


def value(c) -> str:
    """A cell in one word or a few: its status, its finding classes, its speed-up."""
    if c is None:
        return "-"
    if c.status == "skip":
        return f"skip, predicted {c.predicted}" if c.predicted else "skip"
    out = {"fail": "FAIL", "warn": "warn", "pass": "pass"}.get(c.status, c.status)
    if c.classes:
        out += " " + ", ".join(classes(c))
    if c.speedup is not None and c.mode != "eager":
        out += f" ({c.speedup:.2f}x)"
    return out


def _disjoint(a, b) -> bool:
    return bool(a and b) and (a[1] < b[0] or b[1] < a[0])


def _rng(r) -> str:
    return f"[{r[0]:.3g}-{r[1]:.3g}]"


def _predictions(cells: list, columns: list[Column]) -> list[tuple[str, str]]:
    """Each CUDA-graph cell predicted where it could not run, against the same cell measured
    with CUDA graphs on a GPU: the reports that predicted alike, in one line per GPU run."""
    out = []
    for m, mc in zip(cells, columns):
        if not (m and m.on_gpu):
            continue
        said: dict = {}
        for p, pc in zip(cells, columns):
            if p and p.status == "skip" and p.predicted:
                said.setdefault(p.predicted, []).append(pc.name)
        for predicted, names in said.items():
            confirmed = predicted in m.classes or predicted == m.status
            out.append(("prediction confirmed" if confirmed else "prediction refuted",
                        f"{', '.join(names)} predicted {predicted}; the GPU run {mc.name} "
                        f"measured {value(m)}"))
    return out


def _pair(a, b, ac: Column, bc: Column) -> list[tuple[str, str]]:
    """What differs between an earlier report's cell and a later one's (both measured)."""
    out = []
    if a.status in PASSED and b.status == "fail":
        out.append(("regression", f"passed in {ac.name} ({value(a)}), fails in {bc.name}: "
                                  f"{value(b)}" + (f": {b.error}" if b.error else "")))
    if a.status == "fail" and b.status in PASSED:
        out.append(("fixed", f"failed in {ac.name} ({value(a)}), passes in {bc.name} "
                             f"({value(b)})"))
    came = [k for k in classes(b) if k not in a.classes]
    went = [k for k in classes(a) if k not in b.classes]
    if came or went:
        out.append(("findings", f"{ac.name} -> {bc.name}: " + "; ".join(
            ([f"appeared {', '.join(came)}"] if came else []) +
            ([f"went {', '.join(went)}"] if went else []))))
    if ac.machine != bc.machine:
        return out  # speeds of different machines are not compared
    # the speed-up: eager and compiled calls timed in turn, so the machine's load weighs on
    # both alike (a latency alone moves with the load); moved when the spreads do not meet
    if _disjoint(a.speedup_range, b.speedup_range):
        out.append(("speed", f"speed-up {a.speedup:.2f}x {_rng(a.speedup_range)} in {ac.name}"
                             f" -> {b.speedup:.2f}x {_rng(b.speedup_range)} in {bc.name}"))
    if a.compile_s and b.compile_s and abs(b.compile_s - a.compile_s) >= COMPILE_MIN_S and \
            max(a.compile_s, b.compile_s) >= COMPILE_FACTOR * min(a.compile_s, b.compile_s):
        out.append(("compile time", f"first compile {a.compile_s:.1f} s in {ac.name} -> "
                                    f"{b.compile_s:.1f} s in {bc.name}"))
    return out


@dataclasses.dataclass
class Row:
    key: tuple
    cells: list  # one CellResult (or None) per column
    differences: list  # [(kind, text)]

    @property
    def regression(self) -> bool:
        return any(k == "regression" for k, _ in self.differences)

    def rank(self) -> int:
        return min((ORDER.index(k) for k, _ in self.differences), default=len(ORDER))


def differences(cells: list, columns: list[Column]) -> list[tuple[str, str]]:
    out = []
    measured = [(c, col) for c, col in zip(cells, columns) if c is not None
                and c.status != "skip"]
    for (a, ac), (b, bc) in zip(measured, measured[1:]):  # each against the next one
        out += _pair(a, b, ac, bc)
    if not any(k == "regression" for k, _ in out):  # a pass, then a fail further on
        late = [(a, b, ac, bc) for i, (a, ac) in enumerate(measured)
                for b, bc in measured[i + 2:] if a.status in PASSED and b.status == "fail"]
        out += [d for d in _pair(*late[0]) if d[0] == "regression"] if late else []
    out += _predictions(cells, columns)
    return sorted(out, key=lambda d: ORDER.index(d[0]))


def compare(paths: list[str]) -> tuple[list[Column], list[Row]]:
    """The reports at ``paths`` (ReportError for one that is not a report), and one row per
    cell, the rows with differences first."""
    if len(paths) < 2:
        raise ReportError(f"compare: expected at least two reports, earliest first (got "
                          f"{len(paths)})")
    columns = []
    for i, p in enumerate(paths):
        report = Report.load(p)
        with open(p, encoding="utf-8") as f:
            schema = json.load(f)["schema"]
        columns.append(Column(chr(ord("A") + i) if i < 26 else f"R{i + 1}", p, report, schema))
    keys: dict = {}
    for n, col in enumerate(columns):
        for c in col.report.cells:
            keys.setdefault(cell_key(c), [None] * len(columns))[n] = c
    rows = [Row(k, cells, differences(cells, columns)) for k, cells in keys.items()]
    order = {k: i for i, k in enumerate(keys)}
    rows.sort(key=lambda r: (r.rank(), order[r.key]))
    return columns, rows


def exit_code(rows: list[Row]) -> int:
    """1 when a cell that passed in an earlier report fails in a later one (the CI gate)."""
    return 1 if any(r.regression for r in rows) else 0
