"""Where code lives: torch's own files, compilecheck's, the standard library, or the user's.
Findings point at the user's code only."""
from __future__ import annotations

import functools
import importlib.util
import os
import sysconfig

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the package
_PROBES = os.path.join(_HERE, "probes")  # the built-in probes are user code, installed here


@functools.lru_cache(maxsize=1)
def torch_dir() -> str:
    spec = importlib.util.find_spec("torch")  # where torch is installed; torch not imported
    return os.path.dirname(spec.origin) + os.sep if spec and spec.origin else "\0"


@functools.lru_cache(maxsize=1)
def _stdlib() -> str:
    return (sysconfig.get_paths().get("stdlib") or "\0") + os.sep


@functools.lru_cache(maxsize=4096)
def is_user_file(path: str) -> bool:
    """Not torch, not compilecheck itself (its built-in probes count as user code), not the
    standard library, not a frozen or generated module."""
    if path.startswith("<"):
        return False
    path = os.path.abspath(path)
    ours = path.startswith(_HERE + os.sep) and not path.startswith(_PROBES)
    return not (ours or path.startswith(torch_dir()) or path.startswith(_stdlib()))


_LAYERS = ("nn" + os.sep, "ao" + os.sep)
# torch's machinery a forward runs through, not what it is made of: the module call (hooks
# included), the functional ops a layer calls, and a parameter's own methods
_MACHINERY = tuple(os.path.join("nn", *p.split("/")) for p in
                   ("modules/module.py", "functional.py", "parameter.py"))


@functools.lru_cache(maxsize=4096)
def is_module_code(path: str) -> bool:
    """Code a module's forward is made of: the user's, or torch's own modules and the code
    they run (torch/nn: layers, spectral_norm's and weight_norm's hooks; torch/ao: observers
    and fake-quantisers), whose lines are where their writes happen; not the call machinery
    between them (Module.__call__, torch.nn.functional)."""
    if is_user_file(path):
        return True
    path = os.path.abspath(path)
    if not path.startswith(torch_dir()):
        return False
    inner = path[len(torch_dir()):].lstrip(os.sep)
    return inner.startswith(_LAYERS) and not inner.startswith(_MACHINERY)


def is_torch_class(cls: type) -> bool:
    """A class torch itself defines (nn.Linear, nn.Sequential, torch.ao's observers): dynamo
    skips torch's files as the first frame of a compile, so such a module compiled on its own
    is not traced ("Attempted to inline function marked as skipped")."""
    return cls.__module__ == "torch" or cls.__module__.startswith("torch.")


def short_path(path: str) -> str:
    """Relative to the working folder when inside it; torch's own files from `torch/`; else
    as given."""
    root = torch_dir()
    if os.path.abspath(path).startswith(root):
        return "torch/" + os.path.abspath(path)[len(root):]
    try:
        rel = os.path.relpath(path)
        return rel if not rel.startswith("..") else path
    except ValueError:
        return path
