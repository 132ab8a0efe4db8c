"""How many times each of the user's functions runs in one call of forward, and from which
line: a profile function (``sys.setprofile``) over one eager call. dynamo inlines every call
it traces, so a function called N times per forward (a denoise step in a Python loop, a block
per layer, a tower per camera image) is traced N times into the graph; the compile profile
says how many of the graph's operations it made."""
from __future__ import annotations

import sys

from .sources import is_user_file, short_path

MIN_CALLS = 2  # a function called once per forward is no repeated region


def count_calls(fn) -> list[dict]:
    """Run ``fn()`` once under a profile function; the user functions called at least
    MIN_CALLS times from one user call site: ``{function, defined, call_site, calls,
    qualname}``,
    most calls first."""
    counts: dict[tuple, int] = {}

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

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        fn()
    finally:
        sys.setprofile(previous)
    out = [{"function": name, "defined": f"{short_path(path)}:{line}",
            "call_site": f"{short_path(cpath)}:{cline}", "caller": cname, "calls": n,
            "qualname": qual}
           for (path, line, name, cpath, cline, cname, qual), n in counts.items()
           if n >= MIN_CALLS]
    return sorted(out, key=lambda r: -r["calls"])
