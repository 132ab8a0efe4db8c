"""Guard-failure records in every layout torch has written, and what each failed guard is about.

The layouts (torch/_dynamo/convert_frame.py and guards.py of each release):

- 2.0/2.1: "Recompiling function f in file:line" and "triggered by the following guard
  failure: <guard>" (one guard, 2.0 logged the two as a tuple on one line);
- 2.2 to today, `TORCH_LOGS=recompiles`: "Recompiling function f in file:line", then
  "    triggered by the following guard failure(s):" and "    - <guard>" for each cache entry
  (from 2.5 "- 0/3: <guard>", the entry's compile id; later with "  # <user code>  # file:line
  in f (HINT: ...)" after the guard, and "- User stack trace:" lines below it);
- `TORCH_LOGS=recompiles_verbose`: "guard N failures:" before each entry's "- <guard>" lines;
- `error_on_recompile`'s RecompileError and a guard_fail_fn's `GuardFail(reason="...")`.

Sources are named `L['self'].x` / `G['cfg']` up to 2.6 and by their local names after
(`self.calls`, `model._modules['attn']...`, `args[0].state`); vocab/messages.guard_subject says
what a guard is about. A guard on module or optimizer state is `state_mutation` (the write
in forward, or the optimizer's step, that changes it), unless the same record also fails an
identity guard on the object holding that state (the same code reached another instance: a
recompile). Every other guard is a `recompile`, its hint naming what changed.
"""
from __future__ import annotations

import re

from ..vocab.messages import GUARD_STATE_KINDS, guard_subject

_HEADER = re.compile(r"Recompiling function\b|triggered by the following guard failure|"
                     r"^guard \d+ failures:|GuardFail\(reason=|\bRecompileError\b")
_INLINE = re.compile(r"(?:guard failures?(?:\(s\))?:|GuardFail\(reason=)\s*['\"]?(?P<g>\S.*)$")
_FAILURE = re.compile(r"^-\s+(?!User stack trace)(?!File \")(?P<g>\S.*)$")
# "- User stack trace:", "-   File ...", "-     self.x += 1": the user stack under a guard
_CODE_LINE = re.compile(r"^-\s{2,}|^-\s+User stack trace")
# a header that starts a record, and one that goes on with the record before it
_STARTS = re.compile(r"^\(?['\"]?Recompiling function|RecompileError|GuardFail\(")
_CONTINUES = re.compile(r"^guard \d+ failures:")
# a guard with its entry's compile id, or one that reads as a guard without a header before it
_GUARDISH = re.compile(r"^(?:\d+/\d+:\s*|(?=(?:not\s+)?(?:L\[|G\[|self[.\[]|___\w+\(|"
                       r"tensor '|hasattr\(|len\([LG]\[|GLOBAL_STATE))"
                       r".*(?:==|!=|<=|>=|\bis\b|___|hasattr\(|mismatch))")
_HINT = re.compile(r"\(HINT:\s*(.*?)\)?\s*$")
_LIMIT = re.compile(r"last reason:|reasons:\s*\[|hit config\.|cache_size_limit|recompile_limit")

# the literals a guard record's lines hold (the screen reads a line only with one of them)
KEYWORDS = ("triggered by", "failures:", "guardfail(", "recompileerror", "recompiling",
            "l['", "g['", "._modules[", "._buffers[", "._parameters[", "param_groups",
            "___check", "___dict_contains", "mismatch")
_LAST_REASON = re.compile(r"last reason:\s*(?P<g>\S.*)$")
WHAT = {  # what changed, and what to do about it
    "shape": ("a tensor's shape, stride, dtype or device changed", ""),
    "identity": ("another object or type reached the compiled code",
                 "; one compiled function per object, or keep the object"),
    "global": ("a global or config value changed",
               "; keep it fixed while compiled code runs, or pass it in as an argument"),
    "torch_state": ("torch's global state changed (grad mode, autocast, function modes)",
                    "; call the compiled code in one state"),
    "argument": ("an argument's value changed",
                 "; each new value compiles again: pass it as a tensor, or mark it dynamic"),
    "other": ("a guard failed", ""),
}


class GuardRecords:
    """The guard-failure record being read: `feed` takes each line, `close` ends the record."""

    def __init__(self):
        self.header = None  # (line, text) of the record's header
        self.failures: list = []  # (line, text, guard)

    def feed(self, text: str, n: int) -> tuple:
        """(is the line part of a record, the findings of a record it closed)."""
        t = text.strip()
        open_ = bool(self.header or self.failures)
        if not t:
            return open_, []
        if not open_ and not t.startswith(("-", "(", "guard")) and "ecompil" not in t and \
                "uard" not in t:
            return False, []  # cheap: no record is open and nothing starts one
        if _LIMIT.search(t):  # the recompile limit's own lines are that class's
            return False, self.close() if open_ else []
        if _HEADER.search(t):
            new = bool(_STARTS.search(t)) or bool(self.failures)
            done = self.close() if open_ and new and not _CONTINUES.search(t) else []
            if self.header is None:
                self.header = (n, t)
            m = _INLINE.search(t)
            if m and not m.group("g").startswith(("(", "[")):
                self.failures.append((n, t, m.group("g").rstrip("\")',")))
            return True, done
        if t[0] != "-":
            return False, self.close() if open_ else []
        if _CODE_LINE.match(t):
            return open_, []
        m = _FAILURE.match(t)
        if m and (open_ or _GUARDISH.match(m.group("g"))):
            self.failures.append((n, t, m.group("g")))
            return True, []
        return False, self.close() if open_ else []

    def close(self) -> list:
        """(class, hint, line, text, torch's hint) for each failure of the record."""
        out = []
        subjects = [(n, text, guard_subject(g), g) for n, text, g in self.failures]
        identities = [src for _, _, (kind, src), _ in subjects if kind == "identity" and src]
        for n, text, (kind, src), g in subjects:
            hint = _HINT.search(g)
            torch_hint = hint.group(1).strip() if hint else None
            if kind in GUARD_STATE_KINDS:
                other = next((i for i in identities if src.startswith(i)), None)
                if other is not None:
                    out.append(("recompile", f"the same code reached another instance (a guard "
                                f"on `{src}` and on the identity of `{other}`)", n, text,
                                torch_hint))
                    continue
                holder = "optimizer" if kind == "optimizer" else "module"
                out.append(("state_mutation", f"recompile on a guard over {holder} state "
                            f"`{src}`", n, text, torch_hint))
            else:
                what, todo = WHAT.get(kind, WHAT["other"])
                out.append(("recompile", (f"{what}: `{src}`" if src else what) + todo, n, text,
                            torch_hint))
        if self.header is not None and not any(n == self.header[0] for _, _, n, _, _ in out):
            out.insert(0, ("recompile", None, self.header[0], self.header[1], None))
        self.header, self.failures = None, []
        return out


def limit_hint(text: str) -> str | None:
    """What the last guard of a recompile-limit warning is about ("last reason: 0/7: ...")."""
    m = _LAST_REASON.search(text)
    if not m:
        return None
    kind, src = guard_subject(m.group("g"))
    if kind in GUARD_STATE_KINDS:
        holder = "optimizer" if kind == "optimizer" else "module"
        return f"the last guard that failed is on {holder} state `{src}`: it changes every call"
    what, _ = WHAT.get(kind, WHAT["other"])
    return f"the last guard that failed: {what}" + (f": `{src}`" if src else "")
