"""The first screen of a diagnosis, like a doctor tool's: the verdict, each distinct finding in
one line (class, what, where, how many), and the recommendations with their "Do this", in at
most 50 lines of at most 120 columns (narrower terminals wrapped). The tables follow only with
``--details``; the markdown and JSON always hold everything."""
from __future__ import annotations

import functools
import os
import re
import shutil
import textwrap

from ..vocab.findings import CLASSES

MAX_LINES = 50
MAX_WIDTH = 120
MAX_FINDINGS = 12
ONE_LINE = {"timeout"}  # one line however many cells, whatever each was doing at the end
CUDA_GRAPH_CLASSES = {c for c in CLASSES if c.startswith("cudagraph_")} | \
    {"kept_output_overwritten"}


_PATH = re.compile(r"(?<![\w.])(/[^\s:'\"()`,;]+\.py)\b")  # an absolute path to a .py
_PACKAGES = re.compile(r".*/(?:site|dist)-packages/")


def shown_path(path: str) -> str:
    """A file as a traceback would shorten it: inside site-packages, from the package
    (``pkg/sub/file.py``); inside the working folder (the user's project), relative to it; a
    package's file elsewhere (an editable install), from its top package's folder; else as it
    is. The JSON keeps the full path."""
    line = ""
    m = re.match(r"(.*\.py)(:\d+)$", path)
    if m:
        path, line = m.group(1), m.group(2)
    return _shown_file(path) + line


@functools.lru_cache(maxsize=512)
def _shown_file(path: str) -> str:
    m = _PACKAGES.match(path)
    if m:
        return path[m.end():]
    if not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            return rel
    except ValueError:
        pass
    top = os.path.dirname(path)  # a package's file: from its top package's folder
    while os.path.isfile(os.path.join(top, "__init__.py")):
        top = os.path.dirname(top)
    return os.path.relpath(path, top) if top != os.path.dirname(path) else path


def shorten_paths(text: str) -> str:
    """Every absolute path to a Python file in ``text``, shortened (``shown_path``)."""
    return _PATH.sub(lambda m: shown_path(m.group(1)), text or "")


def width() -> int:
    return max(60, min(MAX_WIDTH, shutil.get_terminal_size((MAX_WIDTH, MAX_LINES)).columns))


def _first_sentence(text: str) -> str:
    m = re.match(r"(.+?[.:;])(\s|$)", text)
    return (m.group(1) if m else text).rstrip(":;")


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3].rstrip() + "..."


def _held_attribute(f: dict) -> str | None:
    """The attribute a finding is about, inside the module that holds it (``scale``, whether
    the cell ran the whole policy, ``prefix.up.scale`` of 4 instances, or one of them)."""
    attr = f.get("attribute")
    for inst in f.get("instances") or ():
        if attr and inst and attr.startswith(inst + "."):
            return attr[len(inst) + 1:]
    return attr


def finding_groups(cells) -> list[dict]:
    """Each distinct finding once (its class, where, and the attribute it writes or else its
    text without figures), with the cells that show it, most severe first."""
    groups: dict = {}
    for c in cells:
        for f in c.findings:
            text = _held_attribute(f) or ("" if f["class"] in ONE_LINE else
                                          re.sub(r"\d+(\.\d+)?", "#", f["detail"]))
            key = (f["class"], f.get("where"), f.get("predicts"), text)  # a write: one line,
            # on the whole module (with its instances) or on one of them
            g = groups.setdefault(key, {"finding": f, "cells": []})
            g["cells"].append(c)
    rank = list(CLASSES)
    return sorted(groups.values(), key=lambda g: (
        CLASSES.get(g["finding"]["class"]).severity != "fail"
        if g["finding"]["class"] in CLASSES else True,
        rank.index(g["finding"]["class"]) if g["finding"]["class"] in rank else len(rank)))


def _finding_lines(g: dict, w: int, many_variants: bool = False) -> list[str]:
    f = g["finding"]
    cls = CLASSES.get(f["class"])
    sev = "FAIL" if cls and cls.severity == "fail" else "WARN"
    n_cells = len({id(c) for c in g["cells"]})
    how_many = [f"{n_cells} cell{'s' if n_cells != 1 else ''}"]
    if many_variants:
        how_many.insert(0, ", ".join(dict.fromkeys(c.variant for c in g["cells"])) + ":")
    if f.get("instances"):
        how_many.append(f"{len(f['instances'])} instances")
    head = f"  {sev} {f['class']}"
    if f.get("where"):
        head += f" at {shown_path(f['where'])}"
    head += f" ({', '.join(how_many)})".replace(":, ", ": ")
    if f.get("predicts") in CUDA_GRAPH_CLASSES:  # a CUDA-graph consequence, nothing else
        head += f" -> under CUDA graphs: {f['predicts']}"
    what = shorten_paths(_first_sentence(f["detail"]))
    if f.get("instances"):  # the paths are in the JSON and the details: the count says it here
        what = re.sub(r"( modules) \([^()]*\)", r"\1", what)
    return [_clip(head, w), _clip("       " + what, w)]


def _wrapped(label: str, text: str, w: int, max_lines: int | None = None,
             shorten: bool = True) -> list[str]:
    lines = textwrap.wrap(shorten_paths(text) if shorten else text, w - 2, initial_indent=label,
                          subsequent_indent="    ", break_on_hyphens=False)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _clip(lines[-1], w - 18) + " (--details)"
    return lines


def recommendation_lines(report, w: int) -> list[str]:
    rec = report.recommendation or {}
    summary = rec.get("summary") or "no recommendation (nothing compiled ran)"
    what, _, do = summary.partition(" Do this: ")
    out = _wrapped("Recommendation: ", what, w)  # whole: the findings give way to it
    if do:  # a line to paste keeps its paths as they are
        out += _wrapped("  Do this: ", do, w, shorten=False)
    cold = getattr(report, "cold_start_recommendation", None)
    if not cold:
        from ..decide.coldstart import NOT_MEASURED

        out += _wrapped("", NOT_MEASURED, w, 2)
    else:
        what, _, do = cold.get("summary", "").partition(" Do this: ")
        out += _wrapped("Cold start: ", what, w)
        if do:
            out += _wrapped("  Do this: ", do, w, shorten=False)
    return out


def screen(report, w: int | None = None) -> str:
    w = w or width()
    env = report.environment
    scope = ""
    whole = [c for c in report.cells if getattr(c, "scope", "whole") == "whole"]
    if len(whole) != len(report.cells):
        scope = f"; {len(whole)} of {len(report.cells)} cells on the whole module"
    subjects = ", ".join(dict.fromkeys(c.variant for c in report.cells))
    head = (f"compilecheck: {report.verdict} for {subjects} (torch {env.get('torch', '?')}, "
            f"device {env.get('device', '?')}; target mode {report.target_mode}{scope})")
    out = _wrapped("", head, w, 2)
    tail = [""] + recommendation_lines(report, w)
    if report.interrupted:
        tail += ["", "INTERRUPTED: cells not finished are marked skip (interrupted)."]
    tail += ["", _clip("More: --details (cells, state writes, call patterns, knobs, ladder, "
                       "cold start); --markdown FILE for a ticket; --json FILE.", w)]
    knob_lines = []
    traps = [k for k in report.knobs or [] if k.get("verdict") != "ok"]
    if traps:
        knob_lines += ["", "Environment knobs that do not do what they seem:"]
        for k in traps[:4]:
            knob_lines.append(_clip(f"  {k['name']}={k['value']}: {k['verdict']}: "
                                    f"{k['advice']}", w))
        if len(traps) > 4:
            knob_lines.append(f"  ... and {len(traps) - 4} more (--details)")
    groups = finding_groups(report.cells)
    out.append("")
    if groups:
        out.append("Findings (each once; --details for every cell):")
        room = MAX_LINES - len(out) - len(knob_lines) - len(tail) - 1  # the recommendation
        shown = max(1, min(MAX_FINDINGS, room // 2))  # whole, the findings give way to it
        if len(groups) > shown:
            shown = max(1, min(shown, (room - 1) // 2))
        many = len({c.variant for c in report.cells}) > 1
        for g in groups[:shown]:
            out += _finding_lines(g, w, many)
        if len(groups) > shown:
            out.append(f"  ... and {len(groups) - shown} more (--details)")
    else:
        out.append("Findings: none.")
    out += knob_lines + tail
    return "\n".join(out[:MAX_LINES])
