"""`compilecheck explain`: a log a user already has -> the same findings diagnose produces.

The log is streamed in batches of lines (memory stays flat on a 100 MB log): explain/reader.py
reads it, explain/linetext.py says what each line is, explain/result.py holds the result. Each batch is
lowercased once and screened once, as one string, by a pattern of every class's required
literals (explain/textpatterns.py); only the lines the screen finds are looked at in Python. Such a
line loses its prefixes and is tried against each class's text patterns in root-cause order;
the first class that matches claims the line. A message wrapped over two lines is matched
across the break, torch's graph-break layout (break type, then `Explanation:`) is read as one
message, and `print(torch.allclose(...))` followed by a printed `False` is a numeric
mismatch. The primary finding is the root cause (vocab/findings.py's order; a raised graph break
ranks as a compile error). Every graph break is matched to torch's graph-break registry
(classify/gbregistry.py) for its GB code, explanation, hints and documentation page.

torch's structure decides where text alone would mislead (issue 28): an error takes the class
of the phase its traceback's frames say (explain/phase.py), a guard-failure record in any
layout of 2.0 to 2.13 is read by what its guards are about (explain/guards.py), compile
seconds are read as figures (explain/figures.py), and torch's structured error (Explanation,
Hint, its code) is quoted first in the cause and the fix (explain/context.py, result.py).
"""
from __future__ import annotations

import io
import os
import sys

from .result import Explanation, Hit
from .reader import explain_lines
from .linetext import strip_prefixes

__all__ = ["Explanation", "ExplainError", "Hit", "explain_lines", "explain_stream",
           "explain_text", "open_source", "strip_prefixes"]
SNIFF = 8192


class ExplainError(ValueError):
    pass


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
