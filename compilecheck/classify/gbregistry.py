"""torch's own graph-break registry: a graph-break message -> its GB code, explanation, hints.

torch (2.8 and later) ships ``torch/_dynamo/graph_break_registry.json``: for each code
(``GB0059``) the break type (``gb_type``, the first line of the message), the explanation and
hints in its source, and, for a renamed or reworded break, the older variants after the
current one. torch's messages name their code in a link,
``https://meta-pytorch.github.io/compile-graph-break-site/gb/gb0059.html``
(``torch._dynamo.exc.get_gbid_documentation_link``); older torches and pasted excerpts often
lose it. ``lookup`` matches, in this order:

1. the code itself (the link above, or a bare ``GB0059`` token);
2. the break type (``Failed to trace builtin operator``), whole line first, then anywhere;
3. the explanation template, its ``{placeholders}`` as wildcards;
4. the message an older torch raised at the call site where today's torch raises the break
   type (``Graph break due to unsupported builtin {}.{}. This function is either a Python
   builtin ...`` of 2.4-2.6 is today's GB0007): mined from the sources of released torches
   into classify/gblegacy.py by scripts/gb_history.py;
5. the wordings of torches before the registry that no single call site says
   (``inline in skipfiles``, ``call_function BuiltinVariable(print)``, ``generic_jump``),
   mapped to today's break type by hand.

The registry is read from the installed torch's package folder (found with
``importlib.util.find_spec``, torch itself is not imported) once per process; an installed
torch without it gives ``None`` for every lookup.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import re

from . import gblegacy

URL = "https://meta-pytorch.github.io/compile-graph-break-site/gb/gb{num}.html"
GB_CODE = _CODE_RE = re.compile(r"compile-graph-break-site/gb/gb(\d{4})\.html|\bGB(\d{4})\b")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_MIN_LITERAL = 24  # an explanation template is matched only on this much fixed text
_HEAD = 120  # an older message is matched on its first characters (pastes cut long ones)

# Wordings of torch before the registry (1.13 to 2.7), each mapped to the break type that
# replaced it; the code comes from the installed registry, never from this table.
LEGACY = [
    (re.compile(r"inline in skipfiles|skipfiles:|because it is in skipfiles|"
                r"inlining disallowed|function marked as skipped|marked as skipped", re.I),
     "Attempted to inline function marked as skipped"),
    (re.compile(r"call_function BuiltinVariable\((?:print|\w+)\)|\bbuiltin: \w+ \[", re.I),
     "Failed to trace builtin operator"),
    (re.compile(r"Tensor\.item|call_method \S+ item \(\)", re.I),
     "Unsupported Tensor.item() call with capture_scalar_outputs=False"),
    (re.compile(r"generic_jump|data[- ]dependent (?:jump|branching|control flow)|"
                r"Dynamic control flow is not supported", re.I), "Data-dependent branching"),
    (re.compile(r"torch\._dynamo\.disable|torch\.compiler\.disable|skip function \S+ in file|"
                r"call torch\._dynamo\.disable", re.I),
     "Skip calling `torch.compiler.disable()`d function"),
    (re.compile(r"dynamic shape operator|aten\.nonzero|aten\._local_scalar_dense", re.I),
     "Dynamic shape operator"),
    (re.compile(r"torch\.\*? op returned non-Tensor", re.I),
     "torch.* op returned non-Tensor"),
    (re.compile(r"Logger not supported for non-export|"
                r"call_method UserDefinedObjectVariable\(Logger\)", re.I),
     "logging.Logger method not supported for non-export cases"),
    (re.compile(r"call_function graph_break\b|torch\._dynamo\.graph_break\(\)", re.I),
     "Call to `torch._dynamo.graph_break()`"),
    (re.compile(r"copy\.deepcopy", re.I), "copy.deepcopy()"),
    (re.compile(r"Unsupported context manager", re.I), "Unsupported context manager"),
    (re.compile(r"non-?const(?:ant)? NNModule method|call_method NNModuleVariable", re.I),
     "non-const argument in nn.Module method"),
    (re.compile(r"call_function UserDefinedClassVariable|call_function "
                r"(?:SkipFunctionVariable|UserDefinedObjectVariable)|"
                r"call_function \w+Variable", re.I), "Unsupported function call"),
    # variables/builtin.py's call_id and base.py's call_method before 2.7 ("call_method
    # UserDefinedObjectVariable(set) __contains__ [...] {}"), after the methods named above
    (re.compile(r"\bcall_id with args\b", re.I), "id() with unsupported args"),
    (re.compile(r"\bcall_method \w+Variable\b", re.I), "Unsupported method call"),
]


def _torch_dir() -> str | None:
    spec = importlib.util.find_spec("torch")
    return os.path.dirname(spec.origin) if spec and spec.origin else None


def registry_path() -> str | None:
    """The installed torch's graph_break_registry.json, or None where torch has none."""
    root = _torch_dir()
    path = os.path.join(root, "_dynamo", "graph_break_registry.json") if root else None
    return path if path and os.path.isfile(path) else None


def _join_hints(fragments: list) -> list:
    """The registry keeps a hint as the source's string pieces ("Set x ", "or y ", "to z");
    a piece ending in a space continues into the next, as it does in torch's message."""
    out, cur = [], ""
    for frag in fragments or []:
        cur += str(frag)
        if not cur.endswith((" ", "\t")):
            out.append(cur.strip())
            cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def _template_regex(template: str):
    literal = _PLACEHOLDER.sub("", template)
    if len(literal.strip()) < _MIN_LITERAL or template.startswith('"'):
        return None
    parts = [re.escape(p) for p in _PLACEHOLDER.split(template)]
    return re.compile(r".{0,300}?".join(parts).replace(r"\ ", r"\s+"), re.S)


@functools.lru_cache(maxsize=1)
def load() -> dict | None:
    """{code: [variant, ...]} as torch ships it (current wording first), or None."""
    path = registry_path()
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data else None


@functools.lru_cache(maxsize=1)
def _index():
    data = load()
    if data is None:
        return None
    by_type, templates = {}, []
    for code, variants in data.items():
        for v in variants:
            gb_type = (v.get("Gb_type") or "").strip()
            if gb_type and gb_type != "_gb_type":
                by_type.setdefault(gb_type.lower(), (code, v))
            rx = _template_regex(v.get("Explanation") or "")
            if rx is not None:
                templates.append((len(_PLACEHOLDER.sub("", v["Explanation"])), rx, code, v))
    # anywhere in a text: the longest break types first; short generic ones need a whole line
    anywhere = sorted((t for t in by_type if len(t) >= 14), key=len, reverse=True)
    templates.sort(key=lambda t: -t[0])
    return by_type, anywhere, templates, _history(by_type)


def _history(by_type: dict) -> list:
    """(regex, break type) of each older wording whose break type the installed registry has,
    longest first; a message is matched on its first characters."""
    out = []
    for row in gblegacy.ROWS.splitlines():
        gb_type, _, message = row.split("\t")
        if gb_type.lower() not in by_type:
            continue
        head = message[:_HEAD].rsplit(" ", 1)[0] if len(message) > _HEAD else message
        parts = [re.escape(p.strip()) for p in head.split("{}") if p.strip()]
        rx = r".{0,200}?".join(parts).replace(r"\ ", r"\s+")
        out.append((len(head), re.compile(rx, re.S), gb_type.lower()))
    out.sort(key=lambda t: -t[0])
    return [(rx, t) for _, rx, t in out]


_NAME_ONLY = re.compile(r"[\w.]+")  # the registry keeps a variable's name where the source passed one


def _entry(code: str, variant: dict, how: str) -> dict:
    explanation = variant.get("Explanation", "")
    if _NAME_ONLY.fullmatch(explanation):  # the source built it at run time: say the type
        explanation = variant.get("Gb_type", "")
    return {"code": code, "type": variant.get("Gb_type", ""),
            "explanation": explanation,
            "hints": [h for h in _join_hints(variant.get("Hints"))
                      if not _NAME_ONLY.fullmatch(h)],
            "url": URL.format(num=code[2:]), "matched": how}


_LEAD = re.compile(r"^\s*(?:[\w.]*Unsupported:\s*|Graph Break Reason:\s*|"
                   r"Encountered graph break when attempting to trace [^:]*:\s*)", re.I)


@functools.lru_cache(maxsize=4096)
def lookup(message: str) -> dict | None:
    """The registry entry of a graph-break message (a key of dynamo's
    ``counters["graph_break"]``, or a line or paragraph of a log): {"code", "type",
    "explanation", "hints", "url", "matched"}; None where nothing matches or the installed
    torch has no registry."""
    data, index = load(), _index()
    if not data or index is None or not message:
        return None
    by_type, anywhere, templates, history = index
    m = _CODE_RE.search(message)
    if m:
        code = f"GB{m.group(1) or m.group(2)}"
        if code in data and data[code]:
            return _entry(code, data[code][0], "code")
    for line in message.splitlines():  # the break type on a line of its own (torch's layout)
        t = _LEAD.sub("", line).strip().strip("`*'\"").strip()
        hit = by_type.get(t.lower())
        if hit:
            return _entry(hit[0], hit[1], "type")
    low = message.lower()
    for t in anywhere:
        if t in low:
            code, v = by_type[t]
            return _entry(code, v, "type")
    for _, rx, code, v in templates:
        if rx.search(message):
            return _entry(code, v, "explanation")
    for rx, gb_type in history:
        if rx.search(message):
            return _entry(*by_type[gb_type], "history")
    for rx, gb_type in LEGACY:
        if rx.search(message):
            hit = by_type.get(gb_type.lower())
            if hit:
                return _entry(hit[0], hit[1], "legacy")
    return None


def lookup_code(code: str) -> dict | None:
    """The registry entry of a code (``GB0039``), or None."""
    data = load()
    variants = (data or {}).get(code)
    return _entry(code, variants[0], "code") if variants else None


def lookup_type(line: str) -> dict | None:
    """The registry entry whose break type is this line (torch's layout puts the type on a
    line of its own, before "  Explanation:"), also after a wrapper's "...: " lead-in."""
    index = _index()
    if index is None or not line:
        return None
    t = _LEAD.sub("", line).strip().strip("`*'\"").strip()
    for candidate in (t, t.rsplit(": ", 1)[-1]):
        hit = index[0].get(candidate.strip().lower())
        if hit:
            return _entry(hit[0], hit[1], "type")
    return None


def of_error(words: dict | None) -> dict | None:
    """The entry torch's structured error names (vocab/messages.structured_error): its code,
    else its break type."""
    if not words:
        return None
    if words.get("code"):
        return lookup_code(words["code"])
    return lookup_type(words.get("gb_type") or "")


def recompile_limit() -> dict | None:
    """The registry's entry for the recompile limit (torch raises it as a break: GB0039)."""
    return lookup_type("Dynamo recompile limit exceeded")


def summary(message: str) -> str | None:
    """One line for a report: "GB0059 Failed to trace builtin operator (<page>)", or None."""
    entry = lookup(message)
    if entry is None:
        return None
    return f"{entry['code']} {entry['type'].strip()} ({entry['url']})"
