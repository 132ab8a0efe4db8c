"""The text of a log line as explain reads it: the prefixes tools put before torch's message
(glog, [rankN], timestamps, torch's [0/1] [__artifact] tags, vLLM and Ray worker tags,
pytest's `E`, markdown quotes and bold labels) stripped, one cheap screen of every class's
required literals, and the line's class by the text patterns in root-cause order."""
from __future__ import annotations

import re

from ..vocab.findings import RANK
from . import figures, guards, phase, printed
from .textpatterns import PATTERNS

EXPLAIN_ORDER = RANK  # root cause first (vocab/findings.py); a raised graph break: Explanation.primary
TIER = {c: i for i, c in enumerate(EXPLAIN_ORDER)}

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


# literals that start explain's own multi-line rules (graph-break layout, printouts, guard
# records, compile figures)
_EXTRA_KEYWORDS = ("explanation:",) + guards.KEYWORDS + figures.KEYWORDS + printed.KEYWORDS
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
_EXC_START = phase._EXC_LINE  # a line that is an exception itself, not a line of its message
# the first line of a graph-break message (not a hint that mentions graph breaks)
_BREAK_START = re.compile(r"^(?:graph break(?: in\b| from\b|:)|graph break reason|"
                          r"(?:torch\._dynamo\.exc\.)?(?:unsupported|usererror):)", re.I)


NEAR_BEFORE, NEAR_AFTER = 60, 25  # the words around a match a `near` exclusion reads


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
            if c.near and c.exclude is not None:
                if any(not c.exclude.search(text, max(0, m.start() - NEAR_BEFORE),
                                            m.end() + NEAR_AFTER)
                       for m in entry[0].finditer(text)):
                    return name, entry[1], (entry[2] if len(entry) > 2 else None)
            elif entry[0].search(text):
                if c.exclude is not None and c.exclude.search(text):
                    break
                return name, entry[1], (entry[2] if len(entry) > 2 else None)
    return None


def _better(a: str | None, b: str | None) -> bool:
    """Does class a rank above class b (None ranks last)?"""
    return a is not None and (b is None or TIER[a] < TIER[b])
