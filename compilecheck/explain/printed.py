"""Printed comparisons of eager and compiled results: what a script printed, read as a
numeric mismatch when it shows one.

- a check printed, then its value: `print(torch.allclose(a, b))` (or an `assert` of it)
  followed by a printed `False`; `torch.isnan(...)` printing False for one run and True for
  the next;
- outputs printed beside their labels: one side eager (`eager`, `uncompiled`, `original`,
  `ref`, `expected`, `baseline`), the other compiled (`compiled`, `comp`, `inductor`, `opt`,
  `res`, `actual`), with the same other words (`CPU Uncompiled output:` against `CPU Compiled
  output:`; `eager out:` against `compiled out:`). The values are read as torch prints them:
  `tensor([...], device=...)` over as many lines as its brackets take, a list, an array, a
  number. Two values differ when one has NaN or Inf where the other has not, or when a pair
  of elements differs by more than the printed precision (1e-3 absolute and relative); values
  whose element counts differ are compared as text. Labels that are only generic (`ref`,
  `res`, `expected`, `actual`) count in a log about torch.compile only.
"""
from __future__ import annotations

import math
import re

# print(torch.allclose(...)), assert torch.equal(...): its printed value follows
_CHECK = re.compile(r"(?:print|assert)\b.*\b(allclose|equal|isnan|isinf)\(")
_BOOL = re.compile(r"^(?:tensor\()?(True|False)\)?$")
CHECK_GAP = 12  # lines between a printed check and its printed value
# "<label>: <value>" where the value is what torch prints (the value may start on the next line)
# (quoted or not: "eager" output: `tensor(...)`)
_LABELLED = re.compile(r"^[\"'`*]{0,2}(?P<label>[A-Za-z][\w .()/\"'`*-]{0,40}?)\s*[:=]\s*"
                       r"[`*]{0,2}(?P<value>.*?)[`*]{0,2}$")
# a value as torch or numpy prints it, or one bare number (not "12.3 ms": a timing)
_VALUE = re.compile(r"^(?:tensor\(|array\(|\[|[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|\.\d+|inf|nan)\s*$)",
                    re.I)
_EAGER = {"eager", "uncompiled", "noncompiled", "original", "orig", "ref", "reference",
          "expected", "baseline"}
_COMPILED = {"compiled", "compile", "comp", "inductor", "opt", "optimized", "optimised",
             "res", "actual", "dynamo"}
_NEGATION = {"non", "not", "no", "without"}
_GENERIC = {"ref", "reference", "expected", "res", "actual", "orig", "opt", "comp"}
_SUFFIX = {"out", "output", "outputs", "result", "results", "value", "values", "y", "logits",
           "tensor", "torch", "mode", "model", "fn", "func", "function"}
# a label about speed or memory: its numbers are measurements, not outputs
_MEASURES = {"time", "times", "timing", "latency", "ms", "sec", "secs", "seconds", "speed",
             "speedup", "throughput", "duration", "memory", "mem", "peak", "fps", "tokens",
             "step", "steps", "epoch", "iter", "iteration", "compile", "compilation"}
_BARE = re.compile(r"^[-+]?(?:\d|\.\d|inf|nan)", re.I)  # a bare number, not a printed tensor
_WORD = re.compile(r"[a-z]+")
_NUM = re.compile(r"[-+]?(?:inf|nan|\d+\.?\d*(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?)", re.I)
MAX_LINES = 200  # lines of one printed value
TOL = 1e-3  # absolute and relative: what torch's 4 printed decimals can tell apart
KEYWORDS = ("isnan(", "isinf(", "allclose(", "equal(", "tensor(", "array(", "eager",
            "compiled", "uncompiled", "original", "inductor", "baseline", "expected", "actual",
            "ref:", "ref =", "res:", "res =", "reference", "comp:", "comp :")


def _label(label: str):
    """(kind, key, generic) of an output's label: kind "eager" or "compiled", key the other
    words, generic whether only a generic word says the kind; None when no word does."""
    words = _WORD.findall(label.lower())
    if _MEASURES.intersection(words[1:] if words and words[0] == "compile" else words):
        return None
    kinds = {}
    for i, w in enumerate(words):
        if w in _EAGER or (w in _COMPILED and i and words[i - 1] in _NEGATION):
            kinds.setdefault("eager", w)
        elif w in _COMPILED:
            kinds.setdefault("compiled", w)
    if len(kinds) != 1:  # no side named, or both ("eager vs compiled diff"): not one output
        return None
    (kind, kind_word), = kinds.items()
    key = " ".join(w for w in words if w not in _EAGER | _COMPILED | _NEGATION | _SUFFIX)
    named = any(w not in _EAGER | _COMPILED | _NEGATION for w in words)
    return kind, key, kind_word in _GENERIC, named


def _balanced(text: str) -> bool:
    return text.count("[") <= text.count("]") and text.count("(") <= text.count(")")


def numbers(value: str) -> list:
    """The elements of a printed value: the bracketed data of `tensor([...], dtype=...)`, or
    the first number of `tensor(1.5, device=...)`."""
    start = value.find("[")
    if start >= 0:
        depth, end = 0, len(value)
        for j in range(start, len(value)):
            depth += {"[": 1, "]": -1}.get(value[j], 0)
            if depth == 0:
                end = j + 1
                break
        body = value[start:end]
    else:
        body = re.sub(r"^(?:tensor|array)\(", "", value).split(",")[0]
    return [float(x) for x in _NUM.findall(body)]


def difference(a: str, b: str) -> str | None:
    """How two printed values differ (None when they agree to the printed precision)."""
    x, y = numbers(a), numbers(b)
    if not x or len(x) != len(y):
        return None if " ".join(a.split()) == " ".join(b.split()) else "the printed values differ"
    worst, beyond = 0.0, False
    for p, q in zip(x, y):
        for test, name in ((math.isnan, "NaN"), (math.isinf, "Inf")):
            if test(p) != test(q):
                return f"{name} in one and not the other ({p:g} against {q:g})"
        if math.isfinite(p) and math.isfinite(q):
            worst = max(worst, abs(p - q))
            beyond = beyond or abs(p - q) > TOL * (1 + max(abs(p), abs(q)))
    return f"elements differ by up to {worst:.4g}" if beyond else None


class Printouts:
    """The printed checks and labelled outputs read so far."""

    def __init__(self):
        self.check = None  # (kind, line) of a print(torch.allclose(...)) awaiting its value
        self.bools: dict = {}  # isnan/isinf printouts seen: value -> line
        self.seen: dict = {}  # (kind, key) -> (value, line, generic) of an output printed
        self.value = None  # [kind, key, generic, line, text, label] of a value being read
        self.label = None  # (kind, key, generic, line, label) of a label with its value below

    def busy(self) -> bool:
        """Is a value being read (the next lines are needed, screened or not)?"""
        return self.value is not None or self.label is not None or self.check is not None

    def feed(self, text: str, n: int) -> list:
        """The mismatches this line shows: [(line, text shown, generic)]."""
        found = []
        if self.check is not None and text:
            self._check_value(text, n, found)
        if self.value is not None:
            m = _LABELLED.match(text)
            if not (m and _label(m.group("label"))):  # not the next output's label
                self.value[4] += " " + text
                if _balanced(self.value[4]) or n - self.value[3] > MAX_LINES:
                    self._done(n, found)
                return found
            self._done(n, found)
        if self.label is not None:
            if not text:
                return found
            label, self.label = self.label, None
            if _VALUE.match(text):
                self.value = [*label[:4], text, label[4]]
                if _balanced(text):
                    self._done(n, found)
                return found
        if "(" in text and ("print" in text or "assert" in text):
            m = _CHECK.search(text)
            if m:
                self.check = (m.group(1), n)
        m = (":" in text or "=" in text) and _LABELLED.match(text)
        if m:
            got = _label(m.group("label"))
            value = m.group("value").strip()
            if got is not None and not value and text.rstrip().endswith(":"):
                self.label = (*got[:3], n, m.group("label"))
            elif got is not None and _VALUE.match(value) and (got[3] or not _BARE.match(value)):
                # a bare number needs a name beside the side's ("eager loss: 2.31"): "eager:
                # 0.012" alone may be a timing
                self.value = [*got[:3], n, value, m.group("label")]
                if _balanced(value):
                    self._done(n, found)
        return found

    def _check_value(self, text: str, n: int, found: list):
        kind, at = self.check
        m = _BOOL.match(text.strip("`# "))
        if m and n > at:
            value = m.group(1)
            if kind in ("allclose", "equal") and value == "False":
                found.append((n, f"{text} (the printed torch.{kind}(...) of line {at})", False))
                self.check = None
            elif kind in ("isnan", "isinf"):
                self.bools.setdefault(value, n)
                if len(self.bools) == 2 and self.bools["True"] > self.bools["False"]:
                    found.append((n, f"{text} (torch.{kind} False in one run, True in the next)",
                                  False))
                self.check = None
        elif n > at + CHECK_GAP:
            self.check = None

    def _done(self, n: int, found: list):
        kind, key, generic, at, value, label = self.value
        self.value = None
        other = ("compiled" if kind == "eager" else "eager", key)
        if other not in self.seen:
            self.seen[(kind, key)] = (value, at, generic)
            return
        before, line, generic_before = self.seen.pop(other)
        why = difference(before, value)
        if why:
            label = re.sub(r"[\"'`*]", "", label)
            found.append((at, f"{label} ({why}; the {other[0]} output of line {line}): "
                              f"{value[:200]}", generic and generic_before))
