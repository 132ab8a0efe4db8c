"""Which environment variables the INSTALLED torch reads, from its own files.

Nothing here is a frozen list of torch's variables: torch's own sources are scanned once per
torch version (quoted names in its .py files; NUL-terminated names in its shared libraries)
and cached; config modules are parsed to map a variable to the config key it sets.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import importlib.util
import json
import mmap
import os
import re

from .files import cache_dir

_LITERAL = re.compile(rb"""["']((?:TORCH|PYTORCH_|CUDA_LAUNCH)[A-Z0-9_]*)["']""")
CONFIG_MODULES = ("torch._dynamo.config", "torch._inductor.config", "torch._functorch.config",
                  "torch.compiler.config", "torch.fx.experimental._config")
def torch_root() -> str:
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin:
        raise RuntimeError("torch is not installed")
    return os.path.dirname(spec.origin)


def torch_version(root: str) -> str:
    try:
        with open(os.path.join(root, "version.py"), encoding="utf-8") as f:
            m = re.search(r"__version__\s*(?::\s*str)?\s*=\s*['\"]([^'\"]+)", f.read())
        return m.group(1) if m else "unknown"
    except OSError:
        return "unknown"


def torch_stamp(root: str) -> str:
    """The installed torch, stably across processes (str's hash() is salted per process)."""
    where = hashlib.sha1(root.encode()).hexdigest()[:10]
    return f"{torch_version(root)}-{int(os.path.getmtime(root))}-{where}"


def _cache_path(root: str) -> str:
    return os.path.join(cache_dir(), f"torch-env-index-{torch_stamp(root)}.json")


def _scan_sources(root: str) -> dict[str, list[str]]:
    index: dict[str, set] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("testing", "__pycache__", "include")]
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for m in _LITERAL.finditer(data):
                index.setdefault(m.group(1).decode(), set()).add(os.path.relpath(path, root))
    return {k: sorted(v) for k, v in index.items()}


class TorchEnvIndex:
    """Where the installed torch mentions each variable name, cached per torch version."""

    def __init__(self, root: str | None = None):
        self.root = root or torch_root()
        self.version = torch_version(self.root)
        path = _cache_path(self.root)
        self.sources: dict[str, list[str]] | None = None
        try:
            with open(path, encoding="utf-8") as f:
                cached = json.load(f)
            if cached.get("root") == self.root:
                self.sources = cached["sources"]
                self._native = cached.get("native", {})
        except (OSError, ValueError, KeyError):
            pass
        if self.sources is None:
            self.sources, self._native = _scan_sources(self.root), {}
            self._save(path)
        self._path = path

    def _save(self, path: str):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + f".{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"root": self.root, "sources": self.sources,
                           "native": self._native}, f)
            os.replace(tmp, path)
        except OSError:
            pass

    def native(self, name: str) -> list[str]:
        """Shared libraries that hold ``name`` as a C string of its own (getenv's argument)."""
        if name not in self._native:
            hits, needle = [], b"\0" + name.encode() + b"\0"
            lib = os.path.join(self.root, "lib")
            for f in sorted(os.listdir(lib)) if os.path.isdir(lib) else []:
                p = os.path.join(lib, f)
                if not (os.path.isfile(p) and ".so" in f):
                    continue
                try:
                    with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0,
                                                        access=mmap.ACCESS_READ) as mm:
                        if mm.find(needle) >= 0:
                            hits.append("lib/" + f)
                except (OSError, ValueError):
                    continue
            self._native[name] = hits
            self._save(self._path)
        return self._native[name]

    def where(self, name: str) -> list[str]:
        return (self.sources.get(name) or []) + self.native(name)

    def similar(self, name: str) -> list[str]:
        return difflib.get_close_matches(name, list(self.sources), n=2, cutoff=0.75)


def _config_key(root: str, name: str) -> tuple[str, str] | None:
    """(config module, dotted key) whose definition reads ``name``, from the module's AST."""
    for mod in CONFIG_MODULES:
        path = os.path.join(root, *mod.split(".")[1:]) + ".py"
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
        except OSError:
            continue
        if name not in source:
            continue
        tree = ast.parse(source)

        def walk(body, prefix):
            for node in body:
                if isinstance(node, ast.ClassDef):
                    found = walk(node.body, prefix + node.name + ".")
                    if found:
                        return found
                elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                    if isinstance(target, ast.Name) and any(
                        isinstance(c, ast.Constant) and c.value == name
                        for c in ast.walk(node.value)
                    ):
                        return prefix + target.id
            return None

        key = walk(tree.body, "")
        if key:
            return mod, key
    return None


def _enclosing_function(root: str, relpath: str, name: str) -> str | None:
    try:
        with open(os.path.join(root, relpath), encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError):
        return None
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for c in ast.walk(fn):
                if isinstance(c, ast.Constant) and c.value == name:
                    return fn.name
    return None
