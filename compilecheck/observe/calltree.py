"""How many times each of the user's functions runs in one call of forward, and from which
line: a profile function (``sys.setprofile``) over one eager call. dynamo inlines every call
it traces, so a function called N times per forward (a denoise step in a Python loop, a block
per layer, a tower per camera image) is traced N times into the graph; the compile profile
says how many of the graph's operations it made.

Each record also says what a user can compile of it: the object it is a method of, found from
the module (``owner``: its dotted path, "" for the module itself; a module a submodule holds, or
a plain object a module holds as an attribute), and whether it is a closure made anew on every
call (``closure``), which no regional compile can target as it is. Its caller is kept the same
way, so that a region no user can compile can be named by the nearest one they can."""
from __future__ import annotations

import sys

from .safeaccess import is_a, type_module
from .sources import is_user_file, short_path

MIN_CALLS = 2  # a function called once per forward is no repeated region


def _root_of(fn):
    """The module ``fn`` calls: the first nn.Module among its closure's cells."""
    from torch import nn

    for cell in getattr(fn, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if is_a(value, nn.Module):
            return value
    return None


def object_paths(root) -> dict[int, str]:
    """id -> dotted path from ``root`` of every module in it, and of the plain objects its
    modules hold as attributes (an integrator, a scheduler): what a user can reach and patch."""
    if root is None:
        return {}
    from torch import nn

    out: dict[int, str] = {}
    for path, m in root.named_modules():
        out.setdefault(id(m), path)
    for path, m in root.named_modules():
        for attr, value in vars(m).items():  # never the objects' own code (safeaccess.py)
            if attr.startswith("_") or is_a(value, (nn.Module, str, bytes, int, float,
                                                    bool, tuple, list, dict, set)):
                continue
            if value is None or not is_user_file(getattr(sys.modules.get(
                    type_module(value)), "__file__", None) or "<"):
                continue
            out.setdefault(id(value), f"{path}.{attr}" if path else attr)
    return out


def _self_of(frame):
    code = frame.f_code
    if not code.co_argcount or code.co_varnames[0] != "self":
        return None
    return frame.f_locals.get("self")


def count_calls(fn, root=None) -> list[dict]:
    """Run ``fn()`` once under a profile function; the user functions called at least
    MIN_CALLS times from one user call site: ``{function, defined, call_site, calls,
    qualname, caller, owner, owner_class, instances, closure, caller_qualname,
    caller_defined, caller_owner}``, most calls first. ``root``: the module ``fn`` calls
    (default: the one in its closure), from which owners are found."""
    counts: dict[tuple, int] = {}
    selves: dict[tuple, dict] = {}  # key -> {id(self): self}
    callers: dict[tuple, tuple] = {}  # key -> (caller code, caller self)

    def profiler(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if not is_user_file(code.co_filename):
            return
        caller = frame.f_back
        while caller is not None and not is_user_file(caller.f_code.co_filename):
            caller = caller.f_back  # through torch's Module.__call__ to the user's line
        if caller is None:
            return
        key = (code.co_filename, code.co_firstlineno, code.co_name,
               caller.f_code.co_filename, caller.f_lineno, caller.f_code.co_name,
               getattr(code, "co_qualname", code.co_name))  # Python >= 3.11: Class.method
        counts[key] = counts.get(key, 0) + 1
        me = _self_of(frame)
        if me is not None:
            selves.setdefault(key, {})[id(me)] = me
        if key not in callers:
            callers[key] = (caller.f_code, _self_of(caller))

    root = root if root is not None else _root_of(fn)
    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        fn()
    finally:
        sys.setprofile(previous)
    paths = object_paths(root)
    out = []
    for key, n in counts.items():
        if n < MIN_CALLS:
            continue
        path, line, name, cpath, cline, cname, qual = key
        objs = list((selves.get(key) or {}).values())
        ccode, cself = callers[key]
        out.append({
            "function": name, "defined": f"{short_path(path)}:{line}",
            "call_site": f"{short_path(cpath)}:{cline}", "caller": cname, "calls": n,
            "qualname": qual, "closure": "<locals>" in qual,
            "owner": _owner(objs[0], paths) if objs else None,
            "owner_class": type(objs[0]).__name__ if objs else None,
            "instances": len(objs),
            "caller_qualname": getattr(ccode, "co_qualname", ccode.co_name),
            "caller_defined": f"{short_path(ccode.co_filename)}:{ccode.co_firstlineno}",
            "caller_owner": _owner(cself, paths) if cself is not None else None})
    return sorted(out, key=lambda r: -r["calls"])


def _owner(obj, paths: dict) -> str | None:
    return paths.get(id(obj))
