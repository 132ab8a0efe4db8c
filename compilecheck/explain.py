"""`compilecheck explain`: a log a user already has -> the same findings diagnose produces.

The log is streamed line by line (memory stays flat on a 100 MB log); each line loses its
prefixes (glog, [rankN], timestamps, torch's [0/1] [__artifact] tags), is screened by one
cheap combined pattern, and only then tried against each class's text patterns in rank order
(findings.py): the first class that matches claims the line. A message wrapped over two lines
is matched across the break.
"""
from __future__ import annotations

import dataclasses
import io
import os
import re
import sys

from .findings import CLASSES, RANK
from .textpatterns import PATTERNS

MAX_PER_CLASS = 20  # lines kept per class (all are counted)
SNIFF = 8192

# Everything a log line may carry before torch's message, in the order it comes.
_PREFIX = re.compile(
    r"^(?:\[rank\d+\]:?\s*)?"
    r"(?:\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?"
    r"\s*(?:-\s+(?!\d+/\d+:))?)?"
    r"(?:[IWEVDF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+:\d+\]\s*)?"  # glog
    r"(?:\[\d+/\d+(?:_\d+)?\]\s*)?(?:\[__\w+\]\s*)?"  # [0/1] [__recompiles]
    r"(?:(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.]+:\s*)?")  # logging.basicConfig


# One cheap screen over the lowercased line: every class's required literals at once.
_KEYWORDS = sorted({k for p in PATTERNS.values() for k in p.keywords}, key=len, reverse=True)
_SCREEN = re.compile("|".join(re.escape(k) for k in _KEYWORDS))
_WEAK = {"runtime_error", "recompile", "graph_break", None}  # may be refined by a join


class ExplainError(ValueError):
    pass


@dataclasses.dataclass
class Hit:
    cls: str
    line: int
    text: str


@dataclasses.dataclass
class Explanation:
    """One result that prints itself, like torch._dynamo.explain's."""

    findings: list
    counts: dict
    lines_read: int
    hints: dict

    @property
    def primary(self) -> str | None:
        present = {h.cls for h in self.findings}
        return next((c for c in RANK if c in present), None)

    def to_json(self) -> dict:
        p = self.primary
        out = {"primary": p,
               "findings": [{"class": h.cls, "line": h.line, "text": h.text}
                            for h in self.findings],
               "counts": self.counts, "lines_read": self.lines_read}
        if p:
            out.update(cause=CLASSES[p].cause, fix=CLASSES[p].fix, rung=CLASSES[p].rung)
        return out

    def __str__(self) -> str:
        p = self.primary
        if p is None:
            return (f"compilecheck explain: nothing in the finding vocabulary in "
                    f"{self.lines_read} lines.")
        c = CLASSES[p]
        out = [f"Primary: {p}", f"  cause: {c.cause}", f"  fix:   {c.fix}",
               f"  rung:  {c.rung} (see docs/ladder.md)"]
        if p in self.hints:
            out.append(f"  note:  {self.hints[p]}")
        out.append("")
        out.append(f"Findings ({sum(self.counts.values())} of {self.lines_read} lines):")
        for cls in RANK:
            hits = [h for h in self.findings if h.cls == cls]
            if not hits:
                continue
            note = f" {self.hints[cls]}" if cls in self.hints else ""
            out.append(f"  {cls} ({self.counts[cls]}){note}")
            for h in hits[:5]:
                out.append(f"    line {h.line}: {h.text[:160]}")
            if self.counts[cls] > 5:
                out.append(f"    ... {self.counts[cls] - 5} more")
        return "\n".join(out)


def strip_prefixes(line: str) -> str:
    return _PREFIX.sub("", line, count=1)


def _classify_line(text: str):
    """(class, hint) of the first class whose text pattern matches, else None."""
    low = text.lower()
    if not _SCREEN.search(low):
        return None
    for name in RANK:
        c = PATTERNS[name]
        if not any(k in low for k in c.keywords):
            continue
        for pattern, hint in c.patterns:
            if pattern.search(text):
                return name, hint
    return None


def _better(a: str | None, b: str | None) -> bool:
    """Does class a rank above class b (None ranks last)?"""
    return a is not None and (b is None or RANK.index(a) < RANK.index(b))


def explain_lines(lines) -> Explanation:
    findings: list[Hit] = []
    counts: dict = {}
    hints: dict = {}
    prev, prev_no, prev_hit = "", 0, None  # prev_hit: the Hit the previous line made, if any

    def record(cls, hint, line_no, shown):
        counts[cls] = counts.get(cls, 0) + 1
        if hint:
            hints.setdefault(cls, hint)
        if counts[cls] <= MAX_PER_CLASS:
            hit = Hit(cls, line_no, shown[:500])
            findings.append(hit)
            return hit
        return None

    prev_cls = None  # the class the previous line was counted under (hit or not)
    prev_screened = False  # did the previous line contain any class's keyword?
    n = 0
    for n, raw in enumerate(lines, 1):
        screened = _SCREEN.search(raw.lower()) is not None
        if not screened and not prev_screened:  # the fast path: most lines of most logs
            prev, prev_no, prev_hit, prev_cls = raw, n, None, None
            continue
        text = strip_prefixes(raw.rstrip("\r\n")).strip()
        if not text:
            prev, prev_hit, prev_cls, prev_screened = "", None, None, False
            continue
        if prev and not prev_screened:
            prev = strip_prefixes(prev.rstrip("\r\n")).strip()
        alone = _classify_line(text) if screened else None
        joined = None
        if prev and prev_cls in _WEAK and (alone and alone[0]) in _WEAK:
            joined = _classify_line(f"{prev} {text}")
        if joined and _better(joined[0], prev_cls) and _better(joined[0], alone and alone[0]):
            # a message wrapped over two lines: the pair says more than either line
            if prev_cls is not None:
                counts[prev_cls] -= 1
            if prev_hit is not None:
                findings.remove(prev_hit)
            prev_hit = record(joined[0], joined[1], prev_no, f"{prev} {text}")
            prev, prev_no, prev_cls, prev_screened = "", n, None, False
            continue
        prev_hit = record(alone[0], alone[1], n, text) if alone else None
        prev, prev_no, prev_cls, prev_screened = text, n, alone[0] if alone else None, screened
    counts = {k: v for k, v in counts.items() if v}
    return Explanation(findings, counts, n, hints)


def open_source(source: str):
    """A text stream over FILE or '-' (stdin); refuses what is missing or binary."""
    if source == "-":
        raw = sys.stdin.buffer
    else:
        if not os.path.exists(source):
            raise ExplainError(f"{source}: no such file")
        if os.path.isdir(source):
            raise ExplainError(f"{source}: is a directory, expected a log file")
        try:
            raw = open(source, "rb")
        except OSError as e:
            raise ExplainError(f"{source}: cannot read ({e.strerror})") from None
    buffered = io.BufferedReader(raw) if not isinstance(raw, io.BufferedReader) else raw
    head = buffered.peek(SNIFF)[:SNIFF]
    if _looks_binary(head):
        raise ExplainError(f"{'standard input' if source == '-' else source}: binary data, "
                           "expected a text log or traceback")
    return io.TextIOWrapper(buffered, encoding="utf-8", errors="replace", newline="")


def _looks_binary(head: bytes) -> bool:
    if not head:
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return control > len(head) * 0.1


def explain_stream(stream) -> Explanation:
    return explain_lines(stream)


def explain_text(text: str) -> Explanation:
    return explain_lines(io.StringIO(text))
