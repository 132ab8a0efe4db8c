"""`compilecheck explain`: a log a user already has -> the same findings diagnose produces.

The log is streamed in batches of lines (memory stays flat on a 100 MB log). Each batch is
lowercased once and screened once, as one string, by a pattern of every class's required
literals (textpatterns.py); only the lines the screen finds are looked at in Python. Such a
line loses its prefixes (glog, [rankN], timestamps, torch's [0/1] [__artifact] tags, vLLM and
Ray worker tags, pytest's `E`, markdown quotes and bold labels) and is tried against each
class's text patterns in root-cause order; the first class that matches claims the line. A
message wrapped over two lines is matched across the break, torch's graph-break layout
(break type, then `Explanation:`) is read as one message, and `print(torch.allclose(...))`
followed by a printed `False` is a numeric mismatch.

The primary finding is the root cause: findings.py's order, with three rules of explain's own
(see ``EXPLAIN_ORDER``). Every graph break is matched to torch's graph-break registry
(gbregistry.py) for its GB code, explanation, hints and documentation page.
"""
from __future__ import annotations

import bisect
import dataclasses
import io
import itertools
import os
import re
import sys

from . import gbregistry
from .findings import CLASSES, RANK
from .textpatterns import PATTERNS

MAX_PER_CLASS = 20  # lines kept per class (all are counted)
SNIFF = 8192
BATCH = 2048  # lines screened as one string
CONTEXT = 14  # lines after a graph break read for its registry code
CACHE = 16384  # distinct lines remembered with their classification

# Everything a log line may carry before torch's message, in the order it comes.
_PREFIX = re.compile(
    r"^(?:\[rank\d+\]:?\s*)?"
    r"(?:\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?"
    r"\s*(?:-\s+(?!\d+/\d+:))?)?"
    r"(?:[IWEVDF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+:\d+\]\s*)?"  # glog
    r"(?:\[\d+/\d+(?:_\d+)?\]\s*)?(?:\[__\w+\]\s*)?"  # [0/1] [__recompiles]
    r"(?:(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.]+:\s*)?")  # logging.basicConfig
# What the tools around torch put in front of it; stripped repeatedly, any order.
_WRAPPER = re.compile(
    r"^(?:\((?:[\w.-]+(?: rank=\d+)?) pid=\d+[^)]*\)\s*"  # (EngineCore_DP0 pid=1) (VllmWorker ...)
    r"|\[rank\d+\]:?\s*|\[\d+\]\s+|\[t\+[\dhms]+\]\s*"  # [rank3]: [80746] [t+28s667ms]
    r"|(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\s+\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?\s+"
    r"\[[^\]]+\]\s*"  # vLLM's logger: ERROR 06-05 06:18:13 [file.py:470]
    r"|\[\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?[^\]]*\]\s*"  # [2025-08-30 16:41:17 TP0]
    r"|\[\d\d/\d\d/\d{4}-\d\d:\d\d:\d\d\]\s*(?:\[\w+\]\s*)*(?:\d+:\s+)?"  # TensorRT
    r"|\[[IWEF]\d{3,4} \d\d:\d\d:\d\d\.\d+ \S+:\d+\]\s*"  # c10d: [E321 02:07:08.408 x.cpp:607]
    r"|[IWEVDF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+:\d+\]\s*"  # glog after another tag
    r"|\S+\.(?:py|cpp):\d+\]\s*"  # a glog tag whose start was cut: .../guards.py:2772]
    r"|\[\d+/\d+(?:_\d+)?\]\s*|\[__\w+\]\s*"
    r"|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\s+(?:\|\s+)?"
    r"|[\w.]+(?: \[[^\]]*\])? - (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) - "  # logging %(name)s
    r"|(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+\|\s+[\w.]+\s+\|\s+"  # fairseq's | LEVEL | name |
    r"|\d\d:\d\d:\d\d-\d+\s+(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+"  # sdnext
    r"|E(?:\s{2,}|$)|>+\s?|#\s|\|\s+|-\s+\*\*[^*]+:\*\*\s*|\*\*[^*]+:\*\*\s*"
    r"|[\w.-]+\s{2,}\|\s?"  # docker compose: service  | ...
    r")")
_BOX = str.maketrans("", "", "│╭╮╰╯─")
_OWN_LINES = ("compilecheck worker: cell ",)  # diagnose's worker naming a cell: no message


class ExplainError(ValueError):
    pass


@dataclasses.dataclass
class Hit:
    cls: str
    line: int
    text: str
    raised: bool = False  # the exception itself (a graph break under fullgraph=True)
    gb: dict | None = None  # torch's registry entry, for a graph break

    def to_json(self) -> dict:
        out = {"class": self.cls, "line": self.line, "text": self.text}
        if self.gb:
            out.update(code=self.gb["code"], gb_type=self.gb["type"],
                       explanation=self.gb["explanation"], hints=self.gb["hints"],
                       url=self.gb["url"])
        return out


EXPLAIN_ORDER = RANK  # root cause first (findings.py); a raised graph break: Explanation.primary
_TIER = {c: i for i, c in enumerate(EXPLAIN_ORDER)}


@dataclasses.dataclass
class Explanation:
    """One result that prints itself, like torch._dynamo.explain's."""

    findings: list
    counts: dict
    lines_read: int
    hints: dict

    @property
    def primary(self) -> str | None:
        best = None
        for h in self.findings:
            tier = _TIER["compile_error"] if h.raised else _TIER[h.cls]
            key = (tier, h.line)
            if best is None or key < best[0]:
                best = (key, h.cls)
        return best[1] if best else None

    def graph_breaks(self) -> list:
        """The graph breaks by registry entry: code, type, explanation, hints, url, lines."""
        by = {}
        for h in self.findings:
            if h.cls == "graph_break":
                key = h.gb["code"] if h.gb else None
                entry = by.setdefault(key, dict(h.gb or {"code": None}, lines=[]))
                entry["lines"].append(h.line)
        return list(by.values())

    def to_json(self) -> dict:
        p = self.primary
        out = {"primary": p,
               "findings": [h.to_json() for h in self.findings],
               "counts": self.counts, "lines_read": self.lines_read}
        if p:
            out.update(cause=CLASSES[p].cause, fix=CLASSES[p].fix, rung=CLASSES[p].rung)
        breaks = self.graph_breaks()
        if breaks:
            out["graph_breaks"] = breaks
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
        for cls in EXPLAIN_ORDER:
            hits = [h for h in self.findings if h.cls == cls]
            if not hits:
                continue
            note = f" {self.hints[cls]}" if cls in self.hints else ""
            out.append(f"  {cls} ({self.counts[cls]}){note}")
            for h in hits[:5]:
                out.append(f"    line {h.line}: {h.text[:160]}")
            if self.counts[cls] > 5:
                out.append(f"    ... {self.counts[cls] - 5} more")
        breaks = [b for b in self.graph_breaks() if b.get("code")]
        if breaks:
            out.append("")
            out.append("Graph breaks in torch's registry:")
            for b in breaks:
                where = ", ".join(str(n) for n in b["lines"][:5])
                out.append(f"  {b['code']} {b['type']} (line {where})")
                if b["explanation"]:
                    out.append(f"    why:  {b['explanation'][:300]}")
                for hint in b["hints"][:3]:
                    out.append(f"    hint: {hint[:300]}")
                out.append(f"    see:  {b['url']}")
        return "\n".join(out)


def strip_prefixes(line: str) -> str:
    text = _PREFIX.sub("", line, count=1)
    for _ in range(8):
        stripped = _WRAPPER.sub("", text.lstrip(), count=1)
        if stripped == text.lstrip():
            break
        text = stripped
    return text


# ---------------------------------------------------------------- the screen

def _trie_regex(words) -> str:
    """One alternation of literals, factored by common prefix (much faster to scan)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node):
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            return f"(?:{body})?"
        return body

    return build(trie)


# literals that start explain's own multi-line rules (graph-break layout, printouts)
_EXTRA_KEYWORDS = ("explanation:", "isnan(", "isinf(", "allclose(", "equal(",
                   "compiled output", "compiled result", "eager output", "eager result",
                   "original result")
_KEYWORDS = sorted({k for p in PATTERNS.values() for k in p.keywords} | set(_EXTRA_KEYWORDS))
_SCREEN = re.compile(_trie_regex(_KEYWORDS))
# keyword -> the classes to try when it is in a line; a keyword found also stands for the
# shorter keywords inside it (the screen reports matches that do not overlap)
_KEYWORD_CLASSES: dict = {}
for _name in EXPLAIN_ORDER:
    for _k in PATTERNS[_name].keywords:
        _KEYWORD_CLASSES.setdefault(_k, set()).add(_name)
_KEYWORD_CLASSES = {k: frozenset(c for k2, cs in _KEYWORD_CLASSES.items() if k2 in k for c in cs)
                    for k in _KEYWORDS}
_KEYWORD_RE = re.compile(_SCREEN.pattern)  # the same literals, to list a line's classes
_NONE = frozenset()
_WEAK = {"runtime_error", "recompile", "graph_break", None}  # may be refined by a join

_EXPLANATION = re.compile(r"^\s*Explanation:")
_PRINTED_CHECK = re.compile(r"(?:print|assert)\b.*\b(allclose|equal|isnan|isinf)\(")
_PRINTED_BOOL = re.compile(r"^(?:tensor\()?(True|False)\)?$")
# outputs printed side by side: "CPU Uncompiled output: tensor(...)", "Compiled result: ..."
_PRINTED_OUTPUT = re.compile(r"^(?P<who>.{0,30}?\b(?P<kind>uncompiled|compiled|eager|original))"
                             r"\s+(?:output|result)s?\s*[:=]\s*(?P<value>\S.*)$", re.I)
# the first line of a graph-break message (not a hint that mentions graph breaks)
_BREAK_START = re.compile(r"^(?:graph break(?: in\b| from\b|:)|graph break reason|"
                          r"(?:torch\._dynamo\.exc\.)?(?:unsupported|usererror):)", re.I)


def _classify(text: str, low: str):
    """(class, hint, tag) of the first class (root-cause order) whose pattern matches."""
    present = set()
    for m in _KEYWORD_RE.finditer(low):
        present |= _KEYWORD_CLASSES.get(m.group(), _NONE)
    if not present:
        return None
    for name in EXPLAIN_ORDER:
        if name not in present:
            continue
        c = PATTERNS[name]
        for entry in c.patterns:
            if entry[0].search(text):
                if c.exclude is not None and c.exclude.search(text):
                    break
                return name, entry[1], (entry[2] if len(entry) > 2 else None)
    return None


def _better(a: str | None, b: str | None) -> bool:
    """Does class a rank above class b (None ranks last)?"""
    return a is not None and (b is None or _TIER[a] < _TIER[b])


class _Reader:
    """The state of one explain run over a stream of lines."""

    def __init__(self):
        self.findings: list[Hit] = []
        self.counts: dict = {}
        self.hints: dict = {}
        self.cache: dict = {}
        self.prev = ("", 0, None, None, "")  # (text or None, line, class, hit, raw) of the line before
        self.contexts: list = []  # [hit, lines left, [texts]] for graph breaks being read
        self.printed = None  # (kind, line) of a print(torch.allclose(...)) awaiting its output
        self.bools: dict = {}  # isnan/isinf printouts seen: value -> line
        self.outputs: dict = {}  # eager outputs printed, by the words before them
        self.needs_compile: list = []
        self.saw_compile = False
        self.forced_until = 0  # lines up to this number are read even if not screened

    # -------------------------------------------------------------- recording
    def record(self, cls, hint, line_no, shown, tag=None):
        self.counts[cls] = self.counts.get(cls, 0) + 1
        if hint:
            self.hints.setdefault(cls, hint)
        if self.counts[cls] <= MAX_PER_CLASS:
            hit = Hit(cls, line_no, shown[:500], raised=tag == "raised")
            self.findings.append(hit)
            if cls == "graph_break":
                self.read_context(hit, shown, line_no)
            return hit
        return None

    def unrecord(self, cls, hit):
        if cls is not None:
            self.counts[cls] -= 1
        if hit is not None:
            self.findings.remove(hit)
            for ctx in self.contexts:
                if hit in ctx[0]:
                    ctx[0].remove(hit)
            self.contexts = [c for c in self.contexts if c[0]]

    def read_context(self, hit, shown, line_no):
        """A graph break's message goes on for lines (type, Explanation, Hint, the page of its
        GB code): a break inside the message of the one before is that one's line, and every
        line of one message gets the same registry entry."""
        if self.contexts and not (_BREAK_START.match(shown) and self.contexts[-1][3]):
            self.contexts[-1][0].append(hit)
            return
        self.contexts.append([[hit], CONTEXT, [shown], False])
        self.forced_until = max(self.forced_until, line_no + CONTEXT)

    # -------------------------------------------------------------- one line
    def classify(self, raw: str, low: str):
        """(text without prefixes, classification), remembered by the raw line and by the
        text (a message repeated under other timestamps or ranks is classified once)."""
        got = self.cache.get(raw)
        if got is None:
            text = strip_prefixes(raw.rstrip("\r\n")).translate(_BOX).strip()
            got = self.cache.get(("text", text))
            if got is None:
                got = (text, _classify(text, text.lower()) if text else None)
                self.remember(("text", text), got)
            self.remember(raw, got)
        return got

    def remember(self, key, value):
        if len(self.cache) >= CACHE:
            self.cache.clear()
        self.cache[key] = value

    def line(self, raw: str, low: str | None, n: int):
        """One line: `low` is its lowercase when the screen found a keyword, else None."""
        if low is None:
            text, alone = strip_prefixes(raw.rstrip("\r\n")).translate(_BOX).strip(), None
        else:
            text, alone = self.classify(raw, low)
        self.follow(text, n)
        if low is None or not text or text.startswith(_OWN_LINES):
            self.prev = (text, n, None, None, raw) if not text.startswith(_OWN_LINES) else \
                ("", n, None, None, "")
            return
        prev_text, prev_no, prev_cls, prev_hit, prev_raw = self.prev
        if prev_text is None:
            prev_text = strip_prefixes(prev_raw.rstrip("\r\n")).translate(_BOX).strip()
        if _EXPLANATION.match(text) and prev_hit is None and prev_text:
            gb = gbregistry.lookup_type(prev_text)
            if gb is not None:  # torch's layout: the break type, then "  Explanation: ..."
                prev_hit = self.record("graph_break", None, prev_no, prev_text)
                self.prev = (prev_text, prev_no, "graph_break", prev_hit, prev_raw)
                if prev_hit is not None:
                    self.line_contexts(text)
        out = ("output" in low or "result" in low) and _PRINTED_OUTPUT.match(text)
        if out:
            self.side_by_side(out, n, text)
        m = "(" in low and ("print" in low or "assert" in low) and _PRINTED_CHECK.search(text)
        if m:
            self.printed = (m.group(1), n)
            self.forced_until = max(self.forced_until, n + 12)
        if alone is None and prev_text and prev_cls in _WEAK:
            key = (prev_text, text)
            joined = self.cache.get(key, False)
            if joined is False:
                both = f"{prev_text} {text}"
                joined = _classify(both, both.lower())
                self.remember(key, joined)
            if joined and _better(joined[0], prev_cls):
                # a message wrapped over two lines: the pair says more than either line
                self.unrecord(prev_cls, prev_hit)
                hit = self.record(joined[0], joined[1], prev_no, f"{prev_text} {text}",
                                  joined[2])
                self.prev = ("", n, None, None, "")
                return
        hit = None
        if alone is not None:
            cls, hint, tag = alone
            if tag == "needs_compile" and not self.saw_compile:
                self.needs_compile.append((cls, hint, n, text))
            else:
                hit = self.record(cls, hint, n, text, tag)
        self.prev = (text, n, alone[0] if alone else None, hit, raw)

    def side_by_side(self, m, n: int, text: str):
        """An eager output, then the compiled one of the same run (same words before them,
        "CPU Uncompiled" / "CPU Compiled"), with another value: a numeric mismatch."""
        kind = m.group("kind").lower()
        where = m.group("who")[:m.start("kind") - m.start("who")].strip().lower()
        if kind != "compiled":
            self.outputs[where] = m.group("value").strip()
        elif where in self.outputs and self.outputs.pop(where) != m.group("value").strip():
            self.record("numeric_mismatch", None, n,
                        f"{text} (the eager output printed before differs)")

    def follow(self, text: str, n: int):
        """The rules that read the lines after a finding: a graph break's registry context, a
        printed comparison's result."""
        if self.contexts:
            self.line_contexts(text)
        if self.printed is not None and text:
            kind, at = self.printed
            m = _PRINTED_BOOL.match(text.strip("`# "))
            if m and n > at:
                value = m.group(1)
                if kind in ("allclose", "equal") and value == "False":
                    self.record("numeric_mismatch", None, n,
                                f"{text} (the printed torch.{kind}(...) of line {at})")
                    self.printed = None
                elif kind in ("isnan", "isinf"):
                    self.bools.setdefault(value, n)
                    if len(self.bools) == 2 and self.bools["True"] > self.bools["False"]:
                        self.record("numeric_mismatch", None, n,
                                    f"{text} (torch.{kind} False in one run, True in the next)")
                    self.printed = None
            elif n > at + 12:
                self.printed = None

    def line_contexts(self, text: str):
        keep = []
        for ctx in self.contexts:
            hits, left, texts, complete = ctx
            if text and texts[-1] is not text:
                if complete and _BREAK_START.match(text):
                    left = 0  # the next break starts after this one's message
                else:
                    texts.append(text)
                    left -= 1
                    if gbregistry.GB_CODE.search(text):
                        left = 0  # the page of its code ends torch's message
                    elif _EXPLANATION.match(text) or gbregistry.lookup_type(text):
                        ctx[3] = True
            ctx[1] = left
            if left > 0:
                keep.append(ctx)
            else:
                self.close(ctx)
        self.contexts = keep

    def close(self, ctx):
        gb = gbregistry.lookup("\n".join(ctx[2]))
        for hit in ctx[0]:
            hit.gb = gb

    def finish(self, n: int) -> Explanation:
        for ctx in self.contexts:
            self.close(ctx)
        if self.saw_compile:
            for cls, hint, line_no, text in self.needs_compile:
                self.record(cls, hint, line_no, text)
        limit = gbregistry.lookup_type("Dynamo recompile limit exceeded")
        for h in self.findings:  # torch raises the recompile limit as a graph break
            if h.cls == "graph_break" and h.gb and limit and h.gb["code"] == limit["code"]:
                self.counts["graph_break"] -= 1
                h.cls, h.raised, h.gb = "recompile_limit", False, None
                self.counts["recompile_limit"] = self.counts.get("recompile_limit", 0) + 1
        self.findings.sort(key=lambda h: h.line)
        counts = {k: v for k, v in self.counts.items() if v}
        return Explanation(self.findings, counts, n, self.hints)


def explain_lines(lines) -> Explanation:
    reader = _Reader()
    it = iter(lines)
    base = 0  # line number of the batch's first line, minus one
    while True:
        batch = list(itertools.islice(it, BATCH))
        if not batch:
            break
        block = "".join(batch)
        low = block.lower()
        if not reader.saw_compile and ("compil" in low or "inductor" in low):
            reader.saw_compile = True
        ends = list(itertools.accumulate(map(len, batch)))
        i, count = 0, len(batch)
        while i < count:
            start = ends[i - 1] if i else 0
            if base + i + 1 <= reader.forced_until:  # read on after a finding, screened or not
                m = _SCREEN.search(low, start, ends[i])
                reader.line(batch[i], low[start:ends[i]] if m else None, base + i + 1)
                i += 1
                continue
            m = _SCREEN.search(low, start)
            j = count if m is None else bisect.bisect_right(ends, m.start(), i)
            if j > i:  # lines without a keyword: only the last is remembered, unstripped
                reader.prev = (None, base + j, None, None, batch[j - 1])
            if j >= count:
                break
            reader.line(batch[j], low[ends[j - 1] if j else 0:ends[j]], base + j + 1)
            i = j + 1
        base += count
    return reader.finish(base)


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
