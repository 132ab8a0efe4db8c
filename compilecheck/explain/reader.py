"""explain's reading of a stream of log lines: batches lowercased and screened once, the lines
the screen finds classified, and the rules that read across lines (a message wrapped over
two lines, torch's graph-break layout and structured errors with their registry code
(explain/context.py), guard-failure records (explain/guards.py), the phase a traceback's
frames say (explain/phase.py), compile figures (explain/figures.py), a printed comparison
and its printed result, eager and compiled outputs printed side by side)."""
from __future__ import annotations

import bisect
import itertools
import re

from ..classify import gbregistry
from .context import CONTEXT, ERRORS, Contexts
from .figures import CompileFigures
from .guards import GuardRecords, limit_hint
from .phase import MAX_BACK, resolve
from .result import Explanation, Hit
from .linetext import (_BOX, _EXC_START, _EXPLANATION, _OWN_LINES, _SCREEN, _WEAK, _better,
                       _classify, strip_prefixes)
from .printed import Printouts

MAX_PER_CLASS = 20  # lines kept per class (all are counted)
BATCH = 2048  # lines screened as one string
CACHE = 16384  # distinct lines remembered with their classification
RECORD_GAP = 6  # lines read after a guard record's line, screened or not
# a log about torch.compile (needs_compile evidence counts only there): compiling, its stages,
# CUDA graphs, or eager named as the other side (not HF's attn_implementation="eager")
_ABOUT_COMPILE = re.compile(r"compil|inductor|dynamo|cuda[ -]?graph|graph (?:recording|replay)|"
                            r"(?<!implementation=.)(?<!implementation = .)\beager\b(?! attention)")

_FULLGRAPH = re.compile(r"fullgraph\s*=\s*true")
# inductor's nan_asserts line in a traceback: a NaN found only where it raised AssertionError
_NAN_ASSERT = re.compile(r"assert not \w+\.is(?:nan|inf)\(\)\.any\(\)\.item\(\)")
FOOTER_HINT = ("dynamo's footer: an exception was raised while dynamo compiled a frame; the "
               "exception's own line is not in the excerpt (TORCHDYNAMO_VERBOSE=1 prints it)")
FULLGRAPH_HINT = ("; under fullgraph=True what dynamo cannot trace is raised instead of "
                  "breaking the graph")


class _Reader:
    """The state of one explain run over a stream of lines."""

    def __init__(self):
        self.findings: list[Hit] = []
        self.counts: dict = {}
        self.hints: dict = {}
        self.cache: dict = {}
        self.prev = ("", 0, None, None, "")  # (text or None, line, class, hit, raw) of the line before
        self.contexts = Contexts()  # the messages of findings being read
        self.guards = GuardRecords()
        self.batches = ((), 0, (), 0)  # (lines, first line - 1) of the batch before and this
        self.figures = CompileFigures()
        self.printouts = Printouts()  # printed checks and eager/compiled outputs (printed.py)
        self.needs_compile: list = []
        self.saw_compile = False
        self.forced_until = 0  # lines up to this number are read even if not screened
        self.watchdog = -MAX_BACK - 1  # line of faulthandler's last "Timeout (0:00:05)!"
        self.footers: list = []  # findings read from dynamo's footer alone
        self.fullgraph = False  # the log compiles with fullgraph=True

    # -------------------------------------------------------------- recording
    def record(self, cls, hint, line_no, shown, tag=None, torch_hint=None, placed=False,
               phase=None):
        if (cls in ERRORS or cls == "oom") and not placed:  # the traceback's phase decides
            kept = max(self.counts.get(c, 0) for c in ERRORS) < MAX_PER_CLASS
            cls, phase, cut = resolve(cls, shown, self.lines_before(line_no) if kept else None,
                                      tag)
            if cls is None:  # an eager API failing, or an exception no compile frame placed
                return None
            if cut and cls == "runtime_error" and not self.saw_compile:
                # an error nothing places: a finding only in a log about torch.compile
                self.needs_compile.append((cls, hint, line_no, shown, tag, torch_hint, phase))
                return None
        self.counts[cls] = self.counts.get(cls, 0) + 1
        if hint:
            self.hints.setdefault(cls, hint)
        if self.counts[cls] <= MAX_PER_CLASS:
            hit = Hit(cls, line_no, shown[:500], raised=tag == "raised", phase=phase,
                      torch_hint=torch_hint)
            self.findings.append(hit)
            if cls == "graph_break" or cls in ERRORS:
                if self.contexts.start(hit, shown, hit.raised or bool(_EXC_START.match(shown))):
                    self.forced_until = max(self.forced_until, line_no + CONTEXT)
            return hit
        return None

    def lines_before(self, n: int):
        """(number, text) of the lines before line n, nearest first (this batch and the one
        before it, at most MAX_BACK)."""
        prev, prev_base, cur, base = self.batches
        for i in range(n - 1, max(0, n - 1 - MAX_BACK), -1):
            j, lines = (i - base - 1, cur) if i > base else (i - prev_base - 1, prev)
            if not 0 <= j < len(lines):
                return
            yield i, strip_prefixes(lines[j].rstrip("\r\n")).translate(_BOX).strip()

    def unrecord(self, cls, hit):
        if cls is not None:
            self.counts[cls] -= 1
        if hit is not None:
            self.findings.remove(hit)
            for ctx in self.contexts.open:
                if hit in ctx[0]:
                    ctx[0].remove(hit)
            self.contexts.open = [c for c in self.contexts.open if c[0]]

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
        footer = self.contexts.in_error_message(text)
        if self.contexts.open:
            self.contexts.feed(text)
        self.printed(text, n)
        claimed, done = self.guards.feed(text, n)
        for cls, hint, at, shown, torch_hint in done:
            self.record(cls, hint, at, shown, torch_hint=torch_hint)
        if claimed:
            self.forced_until = max(self.forced_until, n + RECORD_GAP)
            self.prev = ("", n, None, None, "")
            return
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
                    self.contexts.feed(text)
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
        if alone is not None and footer:
            alone = None  # the error's own footer, not a graph break of its own
        if alone is not None and alone[2] == "faulthandler":
            if alone[0] == "timeout":
                self.watchdog = n
            elif n - self.watchdog <= MAX_BACK:  # a thread of the watchdog's dump: the hang
                alone = None
        if alone is not None and alone[2] == "footer":
            # dynamo's footer where no exception of the log was read: an exception raised
            # while dynamo compiled a frame (under fullgraph=True, a graph break: finish())
            if not any(h.cls in ERRORS or h.cls == "graph_break" for h in self.findings):
                hit = Hit(alone[0], n, text[:500])  # no message of its own to read on
                self.findings.append(hit)
                self.counts[hit.cls] = self.counts.get(hit.cls, 0) + 1
                self.hints.setdefault(hit.cls, FOOTER_HINT)
                self.footers.append(hit)
            self.prev = (text, n, None, None, raw)
            return
        if alone is not None:
            cls, hint, tag = alone
            if cls == "recompile_limit":
                hint = limit_hint(text) or hint
            if tag == "needs_compile" and not self.saw_compile:
                self.needs_compile.append((cls, hint, n, text, None, None, None))
            else:
                hit = self.record(cls, hint, n, text, tag)
        else:
            slow = self.figures.feed(text, n, low)
            if slow:
                hit = self.record("slow_compile", slow, n, text)
        self.prev = (text, n, alone[0] if alone else None, hit, raw)

    def printed(self, text: str, n: int):
        """What a script printed: a check and its value, eager and compiled outputs side by
        side (explain/printed.py); the lines of a value being read are read, screened or not."""
        for at, shown, generic in self.printouts.feed(text, n):
            if generic and not self.saw_compile:
                self.needs_compile.append(("numeric_mismatch", None, at, shown, None, None, None))
            else:
                self.record("numeric_mismatch", None, at, shown)
        if self.printouts.busy():
            self.forced_until = max(self.forced_until, n + 1)

    def finish(self, n: int) -> Explanation:
        for cls, hint, at, shown, torch_hint in self.guards.close():
            self.record(cls, hint, at, shown, torch_hint=torch_hint)
        self.contexts.close_all()
        others = [h for h in self.findings if h not in self.footers and
                  (h.cls in ERRORS or h.cls == "graph_break")]
        for h in self.footers:
            if others:  # an exception read after the footer says what it was
                self.unrecord(h.cls, h)
                if not self.counts.get(h.cls) and self.hints.get(h.cls) == FOOTER_HINT:
                    del self.hints[h.cls]
            elif self.fullgraph:  # what fullgraph=True raises instead of breaking the graph
                self.counts[h.cls] -= 1
                if self.hints.get(h.cls) == FOOTER_HINT:
                    del self.hints[h.cls]
                h.cls, h.raised = "graph_break", True
                self.counts["graph_break"] = self.counts.get("graph_break", 0) + 1
                self.hints.setdefault("graph_break", FOOTER_HINT + FULLGRAPH_HINT)
        if self.saw_compile:
            for cls, hint, line_no, text, tag, torch_hint, phase in self.needs_compile:
                self.record(cls, hint, line_no, text, tag, torch_hint, placed=True, phase=phase)
        for h in [h for h in self.findings if _NAN_ASSERT.search(h.text)]:
            raised = next((e for e in self.findings if e.cls in ERRORS and
                           h.line < e.line <= h.line + MAX_BACK), None)
            if raised is not None and not raised.text.startswith("AssertionError"):
                self.unrecord(h.cls, h)  # the check itself raised (a dtype it cannot test)
        limit = gbregistry.lookup_type("Dynamo recompile limit exceeded")
        for h in self.findings:  # torch raises the recompile limit as a graph break
            if h.cls == "graph_break" and h.gb and limit and h.gb["code"] == limit["code"]:
                self.counts["graph_break"] -= 1
                h.cls, h.raised = "recompile_limit", False
                self.counts["recompile_limit"] = self.counts.get("recompile_limit", 0) + 1
            if h.cls == "recompile_limit" and h.gb is None:
                h.gb = limit  # the registry's entry for the limit (GB0039 in 2.13)
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
        reader.batches = (reader.batches[2], reader.batches[3], batch, base)
        block = "".join(batch)
        low = block.lower()
        if not reader.saw_compile and _ABOUT_COMPILE.search(low):
            reader.saw_compile = True
        if not reader.fullgraph and _FULLGRAPH.search(low):
            reader.fullgraph = True
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
