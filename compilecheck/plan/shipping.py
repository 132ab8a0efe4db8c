"""A module object (or a factory) sent to the isolated workers, from Python (``api.check``, the
pytest fixture).

Workers are other processes: what they get must be pickled. A test's module is often not
picklable by name (a class defined inside the test function, a layer holding a function a
factory made, a lambda), so it goes through cloudpickle, which pickles such classes and
functions by value, as Ray and Dask do. A class or function pickled by name must be importable
in the worker: every module the pickle names is checked, and one the worker could not import
(a test file pytest loaded under a name of its own, ``__main__``) is pickled by value too.
Where an object truly cannot travel (a lock, an open file, a generator), the error names the
attribute that holds it and the way out.
"""
from __future__ import annotations

import importlib.util
import io
import pickle
import pickletools
import sys

MAX_ROUNDS = 8  # modules found unimportable, pickled by value, then checked again


class CannotShip(ValueError):
    """The module cannot be sent to a worker (one line: the attribute and the way out)."""


def _named_modules(data: bytes) -> set[str]:
    """The modules a pickle refers to by name (GLOBAL and STACK_GLOBAL opcodes)."""
    out, memo, recent = set(), {}, [None, None]
    for op, arg, _ in pickletools.genops(data):
        name = op.name
        if name == "GLOBAL":
            out.add(str(arg).split(" ", 1)[0])
            recent = [None, None]
        elif name == "STACK_GLOBAL":
            if isinstance(recent[0], str):
                out.add(recent[0])
            recent = [None, None]
        elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
            recent = [recent[1], arg]
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[1]
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = recent[1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            recent = [recent[1], memo.get(int(arg))]
        elif op.stack_after:
            recent = [recent[1], None]
    return out


def _importable(name: str) -> bool:
    if name in ("__main__", "__mp_main__"):
        return False
    top = name.split(".", 1)[0]
    if top in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def dumps(obj) -> bytes:
    """``obj`` pickled so that a worker can load it: by value wherever the worker could not
    import a module the pickle would name."""
    import cloudpickle

    registered = []
    try:
        for _ in range(MAX_ROUNDS):
            data = cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
            missing = [m for m in _named_modules(data)
                       if m in sys.modules and not _importable(m)
                       and m not in registered]
            if not missing:
                return data
            for m in missing:
                cloudpickle.register_pickle_by_value(sys.modules[m])
                registered.append(m)
        return data
    finally:
        for m in registered:
            try:
                cloudpickle.unregister_pickle_by_value(sys.modules[m])
            except (ValueError, KeyError):
                pass


def ship(obj, what: str) -> bytes:
    """``dumps``, or CannotShip naming what inside ``obj`` cannot be pickled."""
    try:
        return dumps(obj)
    except Exception as e:  # noqa: BLE001 - pickling runs the objects' own code
        said = (str(e).strip().splitlines() or [""])[0][:200]
        culprit = _culprit(obj) or f"it refuses to be pickled ({type(e).__name__}: {said})"
        raise CannotShip(
            f"compilecheck: cannot send {what} to its worker processes: {culprit}. Make it "
            "picklable, or pass a factory instead: compilecheck(factory=build) / "
            "check(factory=build), where build() returns (module, args) and builds them "
            "inside the worker") from None


def _culprit(obj) -> str | None:
    """The deepest attribute of the module (or argument) that cannot be pickled."""
    import cloudpickle
    import torch

    from ..observe.statewalk import walk

    module, args = obj if isinstance(obj, tuple) and len(obj) == 2 else (obj, ())
    if not isinstance(module, torch.nn.Module):
        return None
    found = None
    for path, entry in walk(module, args=tuple(args) if isinstance(args, tuple) else ()).items():
        try:
            cloudpickle.dumps(entry.value)
        except Exception as e:  # noqa: BLE001
            if found is None or len(path) > len(found[0]):
                said = (str(e).strip().splitlines() or [""])[0]
                found = (path, type(entry.value).__name__, f"{type(e).__name__}: {said}"[:160])
    if found is None:
        return None
    return f"`{found[0]}` (a {found[1]}) cannot be pickled ({found[2]})"


def loads(data: bytes):
    return pickle.load(io.BytesIO(data))
