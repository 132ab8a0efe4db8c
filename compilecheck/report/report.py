"""The report: one object holding a diagnosis, saved and loaded as JSON (schema
compilecheck.report/2; /1 is read too), printing itself as a table (see report/render.py for the layouts)."""
from __future__ import annotations

import dataclasses
import json

from .. import SCHEMA, __version__
from ..vocab.results import CellResult, Rung


class ReportError(ValueError):
    """A file that is not a compilecheck report."""


@dataclasses.dataclass
class Report:
    environment: dict
    knobs: list
    cells: list  # CellResult
    ladder: list  # Rung
    recommendation: dict  # {rung, name, summary}
    target_mode: str = ""
    interrupted: bool = False
    tool: str = f"compilecheck {__version__}"
    state_writes: dict = dataclasses.field(default_factory=dict)  # variant -> audit writes
    estimate: dict | None = None  # the whole policy's cold compile, estimated (decide/estimate.py)
    judged_patterns: tuple = ("loop",)  # call patterns whose cells count in the verdict
    cold_start: list | None = None  # the cold-start rows (run/coldstart.py); None: not measured
    cold_start_recommendation: dict | None = None  # {name, summary, calls} (decide/coldstart.py)
    ticket: list | None = None  # diagnose --ticket: one entry per repro script (report/ticket.py)


    # ------------------------------------------------------------ verdicts
    @property
    def compiled_cells(self) -> list[CellResult]:
        """The cells the verdict and the exit code judge: the matrix, and the call patterns
        the user asked for by name."""
        return [c for c in self.cells if c.mode != "eager" and c.status != "skip"
                and (c.role == "matrix" or (c.role == "call-pattern"
                                            and c.pattern in self.judged_patterns))]

    def exit_code(self, strict: bool = False) -> int:
        bad = {"fail", "warn"} if strict else {"fail"}
        if self.interrupted:
            return 130
        return 1 if any(c.status in bad for c in self.compiled_cells) else 0

    @property
    def verdict(self) -> str:
        statuses = {c.status for c in self.compiled_cells}
        if "fail" in statuses:  # only out of time: no verdict (exit 1 all the same)
            failed = [c for c in self.compiled_cells if c.status == "fail"]
            return "UNDECIDED" if all(set(c.classes) == {"timeout"} for c in failed) \
                else "FAIL"
        return "WARN" if "warn" in statuses else "PASS"

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "tool": self.tool,
            "target_mode": self.target_mode,
            "interrupted": self.interrupted,
            "environment": self.environment,
            "knobs": self.knobs,
            "cells": [dataclasses.asdict(c) for c in self.cells],
            "ladder": [dataclasses.asdict(r) for r in self.ladder],
            "recommendation": self.recommendation,
            "state_writes": self.state_writes,
            "estimate": self.estimate,
            "judged_patterns": list(self.judged_patterns),
            "cold_start": self.cold_start,
            "cold_start_recommendation": self.cold_start_recommendation,
            "ticket": self.ticket,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    @classmethod
    def from_dict(cls, d: dict) -> "Report":
        from .schema import SCHEMAS, validate

        if not isinstance(d, dict) or d.get("schema") not in SCHEMAS:
            found = d.get("schema") if isinstance(d, dict) else None
            raise ReportError(f"not a compilecheck report: schema is {found!r}, expected "
                              f"one of {', '.join(SCHEMAS)}")
        problems = validate(d, SCHEMAS[d["schema"]])
        if problems:
            raise ReportError(f"a compilecheck report that does not match its schema: "
                              f"{problems[0]}" + (f" (and {len(problems) - 1} more)"
                                                  if len(problems) > 1 else ""))
        try:
            cell_names = {f.name for f in dataclasses.fields(CellResult)}
            rung_names = {f.name for f in dataclasses.fields(Rung)}
            cells = [CellResult(**{k: v for k, v in c.items() if k in cell_names})
                     for c in d["cells"]]
            from ..vocab.rungs import BY_NAME

            ladder = [Rung(**{"keeps_numerics": BY_NAME[r["name"]].keeps_numerics,
                              "basis": _basis_v1(d, r),
                              **{k: v for k, v in r.items() if k in rung_names}})
                      for r in d["ladder"]]  # a /1 report's rungs get what their names mean
            return cls(d["environment"], d["knobs"], cells, ladder, d["recommendation"],
                       d.get("target_mode", ""), d.get("interrupted", False),
                       d.get("tool", "compilecheck"), d.get("state_writes") or {},
                       d.get("estimate"), tuple(d.get("judged_patterns") or ("loop",)),
                       d.get("cold_start"), d.get("cold_start_recommendation"),
                       d.get("ticket"))
        except (KeyError, TypeError) as e:
            raise ReportError(f"a compilecheck report with a missing or malformed field: "
                              f"{e}") from None

    @classmethod
    def load(cls, path: str) -> "Report":
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise ReportError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise ReportError(f"{path}: is a directory, expected a report JSON file") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ReportError(f"{path}: not JSON ({e.__class__.__name__}), expected a "
                              "compilecheck report") from None
        except OSError as e:
            raise ReportError(f"{path}: cannot read ({e.strerror})") from None
        return cls.from_dict(data)

    # ------------------------------------------------------------ layouts
    def render(self, fmt: str = "table") -> str:
        from . import render

        return {"screen": lambda r: render.table(r, details=False), "table": render.table,
                "markdown": render.markdown, "json": lambda r: r.to_json()}[fmt](self)

    def __str__(self) -> str:  # the first screen; render("table") adds the full tables
        return self.render("screen")


def _basis_v1(d: dict, rung: dict) -> str:
    """What a /1 report's rung status rested on (/1 did not say): its CUDA-graphs cell where
    one ran, which on a GPU means measured with CUDA graphs."""
    if rung["status"] in ("n/a", "skip"):
        return ""
    where = "on the GPU" if d["environment"].get("device") == "cuda" else "on the CPU"
    if rung["name"] == "no-compile":
        return f"measured eager {where}"
    if where == "on the GPU":
        return "measured with CUDA graphs on the GPU"
    return "measured on the CPU with CUDA graphs off (report /1)"
