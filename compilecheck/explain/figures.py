"""Compile seconds in the lines users paste: torch's own compile-time records and the timings
people print, read as `slow_compile` when they say the compile is long.

- torch's records: `compile_times()`'s table ("TorchDynamo compilation metrics:", then a
  function and its runtimes in seconds per row), the compilation metrics' fields
  (`entire_frame_compile_time_s=`, `backend_compile_time_s=`, `*_cumulative_compile_time_us=`),
  inductor's "Compilation took N seconds" and "FX codegen and compilation took N s";
- a line about compiling with a duration ("compilation takes more than 15 minutes", "first
  iteration with compilation: 3.36 s", "compile time went from ~1 min to ~20 min").

A compile figure is long when it reaches LONG_S, when it is RATIO times an eager figure of
the same line or of a line near it ("first iteration with compilation: 3.36 s" against
"without compilation: 0.25 s"), or when it grew GROWTH times within one line. vLLM's "torch.compile
takes 45.3 s in total" and the like are records of a normal compile: not long.
"""
from __future__ import annotations

import functools
import re

LONG_S = 300.0  # five minutes: the first compile is the problem, whatever the model
RATIO = 10.0  # a first call ten times an eager one is the compile, not the model
MIN_S = 2.0  # and it takes seconds: a compile of less is no one's problem
GROWTH = 5.0  # a compile that became five times longer
NEAR = 4  # lines between a compile figure and the eager figure it is read against

_UNITS = {"ms": 1e-3, "msec": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3,
          "us": 1e-6, "µs": 1e-6, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0,
          "seconds": 1.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
          "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0}
_DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(ms|msec|milliseconds?|us|µs|secs?|"
                       r"seconds?|s|mins?|minutes?|hrs?|hours?|h)(?![\w/])", re.I)
_METRIC = re.compile(r"\b(\w*compile_time_(s|us))\s*[=:]\s*(\d+(?:\.\d+)?)")
_TORCH_TOOK = re.compile(r"(?:Compilation|FX codegen and compilation|compilation time \(in "
                         r"seconds\)) took (\d+(?:\.\d+)?)\s*s|compilation time \(in "
                         r"seconds\)[^\d]{0,20}(\d+(?:\.\d+)?)", re.I)
_TABLE = re.compile(r"^TorchDynamo compilation metrics:?\s*$")
_ROW = re.compile(r"^[\w.<>]+\s{2,}(\d+(?:\.\d+)?(?:,\s*\d+(?:\.\d+)?)*)\s*$")
# about the compile itself: not "compiled" (a compiled model's latency is not its compile)
_COMPILING = re.compile(r"\bcompil(?:e|es|ation|ing)\b|\btorch\.compile\b|\bre-?compil", re.I)
_EAGER = re.compile(r"\beager\b|\bw/?o (?:torch\.)?compil|\bwithout (?:torch\.)?compil|"
                    r"\buncompiled\b|\bnon-?compiled\b|\bno[ -]compile\b|\bnot compiled\b|"
                    r"\bbaseline\b", re.I)
_FROM_TO = re.compile(r"\bfrom\b\s*~?\s*(\d+(?:\.\d+)?)\s*(\w+)?\s*to\s*~?\s*(\d+(?:\.\d+)?)\s*"
                      r"(\w+)", re.I)
# up to 60 characters of one clause ("torch.compile" does not end it)
_CLAUSE = r"(?:[^.;!?]|\.(?=\w)){0,60}?"
# a duration in words: "several minutes", "hours" (not "a few minutes")
_LONG_WORDS = r"(?:(?:several|many|multiple|tens of|dozens of) minutes|(?:several |many |" \
              r"multiple |tens of |dozens of )?hours|an hour|half an hour)"
_SLOW_WORDS = re.compile(r"\b(?:slow|long|lengthy|huge|excessive) (?:first )?(?:torch\.)?"
                         r"compil(?:e|ation|ing)\b|\bcompil(?:e|ation|ing)(?: times?)? (?:is|was|"
                         r"are|were|takes|took|gets|got|became|becomes|grew|increased)"
                         r"(?: \w+){0,2} (?:slow|long|forever|ages|huge|significantly|"
                         r"dramatically)\b|"
                         # "compiling takes several minutes", "can take hours while it compiles"
                         r"\bcompil(?:e|es|ation|ing)\b" + _CLAUSE + r"\b(?:takes?|took|taking|"
                         r"lasts?|lasted|spends?|spent|needs?|needed)\s+(?:up to\s+|over\s+)?"
                         + _LONG_WORDS + r"\b|\b(?:takes?|took|taking|lasts?|lasted)\s+(?:up to\s+|"
                         r"over\s+)?" + _LONG_WORDS + r"\b" + _CLAUSE + r"\bcompil(?:e|es|ation|"
                         r"ing)\b", re.I)
# literals of the lines that state compile figures (not of the frames and code lines that
# merely name a compile function, which are many)
KEYWORDS = ("compilation", "compiling", "compile time", "compile_time", "compile took",
            "compile takes", "to compile", "compile:", "compile =", "compile=", "compiles in",
            "compiled in", "compile in", "torch.compile:", "torch.compile took",
            "torch.compile takes", "slow compil", "long compil", "first call", "first iteration",
            "first step", "first run", "first forward", "first batch", "eager", "baseline",
            " min", "minute", " hour", " hrs")
_DIGIT = re.compile(r"\d")


def _seconds(num: str, unit: str) -> float | None:
    scale = _UNITS.get(unit.lower())
    return float(num) * scale if scale is not None else None


_CLAUSE_END = re.compile(r"[;!?|]|\.\s")
NEAR_CHARS = 60  # a duration is about the words in its clause at most this far from it


@functools.lru_cache(maxsize=4096)
def durations(text: str) -> tuple:
    """(compile seconds, eager seconds) a line states: each duration goes with the nearest
    word about compiling or about eager in its clause, within NEAR_CHARS of it ("training
    took 3600 s" after "torch.compile enabled;" is about neither)."""
    eager = [(m.start(), m.end()) for m in _EAGER.finditer(text)]
    words = [(a, b, "eager") for a, b in eager] + [
        (m.start(), m.end(), "compile") for m in _COMPILING.finditer(text)
        if not any(a <= m.start() < b for a, b in eager)]
    out = {"compile": [], "eager": []}
    for m in _DURATION.finditer(text):
        s = _seconds(m.group(1), m.group(2))
        best = None
        for a, b, kind in words:  # a label before its value is nearer than a word after it
            between = text[b:m.start()] if m.start() >= b else text[m.end():a]
            far = len(between) + (0 if m.start() >= b else 10)
            if len(between) <= NEAR_CHARS and not _CLAUSE_END.search(between) and \
                    (best is None or far < best[0]):
                best = (far, kind)
        if s is not None and best is not None:
            out[best[1]].append(s)
    return tuple(out["compile"]), tuple(out["eager"])


class CompileFigures:
    """The compile and eager figures read so far; `feed` says when one makes a slow compile."""

    def __init__(self):
        self.table_until = 0  # rows of compile_times()'s table are read up to this line
        self.compiles: list = []  # (line, seconds) of recent compile figures
        self.eagers: list = []  # (line, seconds) of recent eager figures

    def feed(self, text: str, n: int, low: str):
        """(hint) when this line shows a long compile, else None (`low`: the line lowercased)."""
        if n > self.table_until and not (("compil" in low or "eager" in low or
                                           "baseline" in low or "first " in low) and
                                          (_DIGIT.search(text) or "metrics" in low or
                                           _SLOW_WORDS.search(text))):
            return None  # cheap: no figure about a compile, no word of a slow one
        if _TABLE.match(text):
            self.table_until = n + 40
            return None
        if n <= self.table_until:
            m = _ROW.match(text)
            if m:
                total = sum(float(v) for v in m.group(1).split(","))
                if total >= LONG_S:
                    return f"torch's compile-time table: {total:.0f} s in one function"
                return None
        for key, unit, value in _METRIC.findall(text):
            s = float(value) * (1e-6 if unit == "us" else 1.0)
            if s >= LONG_S:
                return f"torch's compilation metrics: {key} = {s:.0f} s"
        m = _TORCH_TOOK.search(text)
        if m:
            s = float(m.group(1) or m.group(2))
            return f"torch logged a compile of {s:.0f} s" if s >= LONG_S else None
        if not (_EAGER.search(text) or _COMPILING.search(text)):
            return None
        comp, eager = durations(text)
        if not eager and _SLOW_WORDS.search(text):
            return "the compile is said to be slow"
        if comp and eager:  # both on one line
            if max(comp) >= RATIO * min(eager) and max(comp) >= MIN_S:
                return f"a compile figure {max(comp):g} s against {min(eager):g} s eager"
            return None
        if comp:
            return self._compile_figure(text, n, comp)
        if not eager:
            return None
        self.eagers = [e for e in self.eagers if n - e[0] <= NEAR] + [(n, min(eager))]
        for at, c in self.compiles:
            if n - at <= NEAR and c >= RATIO * min(eager) and c >= MIN_S:
                return f"a compile figure {c:g} s (line {at}) against {min(eager):g} s eager"
        return None

    def _compile_figure(self, text: str, n: int, secs: list):
        longest = max(secs)
        if longest >= LONG_S:
            return f"a compile of {longest:.0f} s"
        m = _FROM_TO.search(text)
        if m:
            unit_to = m.group(4)
            a = _seconds(m.group(1), m.group(2) or unit_to) or 0
            b = _seconds(m.group(3), unit_to) or 0
            if a > 0 and b >= GROWTH * a:
                return f"the compile grew from {a:g} s to {b:g} s"
        self.compiles = [c for c in self.compiles if n - c[0] <= NEAR] + [(n, longest)]
        for at, e in self.eagers:
            if n - at <= NEAR and longest >= RATIO * e and longest >= MIN_S:
                return f"a compile figure {longest:g} s against {e:g} s eager (line {at})"
        return None
