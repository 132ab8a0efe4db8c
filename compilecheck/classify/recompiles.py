"""Every recompile a cell measured, with its guard, and the state write that caused it.

dynamo records one compilation metric per compile; a recompile's ``recompile_reason`` names
the first guard that failed (``self.cache is None``, ``len(self.seen) == 3``,
``tensor 'self.prev' size mismatch ...``, in older torch ``L['self']._buffers['x'] is None``,
``hasattr(L['self'], '_x')``, ``___odict_getitem(...)``). The guard's source expression is a
path into the module's state (or into an argument, ``L['cache'].layers[0].keys``), which is
matched against the paths the state audit wrote: a recompile whose guard names a write, or
something inside it, or the object holding it, is that write's consequence; every other one
is a ``recompile`` finding of its own. No recompile is dropped.
"""
from __future__ import annotations

import dataclasses
import re

from ..vocab.messages import guard_line, guard_sources

_TOKEN_RE = re.compile(r"\.(\w+)|\[(?:'([^']*)'|\"([^\"]*)\"|(-?\d+))\]")
_ROOT_RE = re.compile(r"L\[['\"](\w+)['\"]\]|([A-Za-z_]\w*)")
_ODICT_RE = re.compile(r"___odict_getitem\(([^,()]+),\s*(['\"][^'\"]*['\"]|\d+)\)")
_HASATTR_RE = re.compile(r"hasattr\(([^,()]+),\s*['\"](\w+)['\"]\)")
_CONTAINERS = ("_modules", "_buffers", "_parameters", "__dict__")
# a module's hook registries, as dynamo's sources and the state walk name them
_HOOKS = {"_forward_hooks": "forward_hooks", "_forward_pre_hooks": "forward_pre_hooks"}


@dataclasses.dataclass
class Recompile:
    call: int  # the 0-based call that triggered it (-1 where the calls cannot say)
    guard: str  # the guard that failed, as dynamo wrote it
    function: str | None = None  # the frame recompiled
    path: str | None = None  # the state path the guard names (root-relative, canonical)
    reason: str = ""  # dynamo's whole recompile reason (with the user's stack, in newer torch)
    code: tuple = ()  # (file, first line) of the frame recompiled

    def when(self) -> str:
        return f"call {self.call + 1}" if self.call >= 0 else "a later call"


def canonical(path: str) -> str:
    """A path with items as attributes (``layers[0]`` and ``layers.0`` are one path)."""
    return _TOKEN_RE.sub(lambda m: "." + next(g for g in m.groups() if g is not None),
                         path).strip(".")


def guard_paths(guard: str, arguments=()) -> list[str]:
    """The state paths a guard reads (its sources, vocab/messages.guard_sources): root-relative
    (``inner.cache``), or ``args.i...`` for an argument of forward; canonical (items as
    attributes)."""
    text = _ODICT_RE.sub(lambda m: f"{m.group(1)}[{m.group(2)}]", guard)
    text = _HASATTR_RE.sub(lambda m: f"{m.group(1)}.{m.group(2)}", text)
    out = []
    for source in guard_sources(text):
        m = _ROOT_RE.match(source)
        root = m.group(1) or m.group(2)
        if root == "self":
            prefix = ""
        elif root in arguments:
            prefix = f"args.{list(arguments).index(root)}"
        else:
            continue
        tokens = [next(g for g in t.groups() if g is not None)
                  for t in _TOKEN_RE.finditer(source[m.end():])]
        parts, i = [], 0
        while i < len(tokens):
            if tokens[i] in _CONTAINERS and i + 1 < len(tokens):
                i += 1  # self._modules['inner'] is self.inner
            parts.append(_HOOKS.get(tokens[i], tokens[i]))
            i += 1
        if parts or prefix:
            out.append(".".join([p for p in (prefix, *parts) if p]))
    return sorted(set(out), key=len, reverse=True)


def measured(obs: dict) -> list[Recompile]:
    """Every recompile of the cell's steps, in order, with its call where the calls say."""
    metrics = [m for m in obs.get("metrics") or [] if m.get("recompile_reason")]
    at = [i for i, c in enumerate(obs.get("calls") or []) for _ in range(c.get("compiles", 0))
          if i > 0]
    calls = at if len(at) == len(metrics) else [-1] * len(metrics)
    arguments = (obs.get("audit") or {}).get("arguments") or []
    out = []
    for call, m in zip(calls, metrics):
        guard = guard_line(m["recompile_reason"])
        paths = guard_paths(guard, arguments)
        out.append(Recompile(call, guard, m.get("co_name"), paths[0] if paths else None,
                             m["recompile_reason"], (m.get("co_filename"),
                                                     m.get("co_firstlineno"))))
    return out


def _write_paths(w: dict) -> list[str]:
    if w.get("instances") and len(w["instances"]) > 1:
        return [canonical(f"{i}.{w['attribute']}" if i else w["attribute"])
                for i in w["instances"]]
    return [canonical(w["path"])]


def attribute(obs: dict) -> tuple[dict[str, list[Recompile]], list[Recompile]]:
    """write path -> the recompiles its guard names; and the recompiles no write explains."""
    audit = obs.get("audit") or {}
    aliases = {canonical(k): canonical(v) for k, v in (audit.get("aliases") or {}).items()}
    writes = [w for w in audit.get("writes") or [] if not w.get("lazy")]
    by_write: dict[str, list[Recompile]] = {}
    rest = []
    for r in measured(obs):
        path = aliases.get(r.path, r.path) if r.path else None
        best = _match(path, writes) if path is not None else None
        if best is None and path and not path.startswith("args."):
            # ``self`` of a frame other than the root's forward (a submodule's forward after
            # a graph break, a hook object's __call__) is that frame's object: its writes
            # were made in that function and end with the guard's path
            best = _match(path, [w for w in writes if w.get("function") == r.function],
                          suffix=True)
        if best is None:
            rest.append(r)
        else:
            by_write.setdefault(best, []).append(r)
    return by_write, rest


def _match(path: str, writes: list, suffix: bool = False) -> str | None:
    """The write the guard's path names: the write at that path; else the innermost write
    holding what the guard reads (``self.cache.layers.0.keys`` is the write of
    ``cache.layers[0]``); else the outermost write inside what it reads (a guard on a
    container holding written items). ``suffix``: paths relative to another frame's self."""
    inside, holds = [], []
    for w in writes:
        for p in _write_paths(w):
            if (p == path or p.endswith("." + path)) if suffix else p == path:
                return w["path"]
            if not suffix and path.startswith(p + "."):
                inside.append((len(p), w["path"]))
            elif not suffix and p.startswith(path + "."):
                holds.append((len(p), w["path"]))
    if inside:
        return max(inside)[1]
    return min(holds)[1] if holds else None
