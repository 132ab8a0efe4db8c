"""Which environment variables the INSTALLED torch reads, and the traps among those set.

Nothing here is a frozen list of torch's variables: torch's own sources are scanned once per
torch version (quoted names in its .py files; NUL-terminated names in its shared libraries)
and cached; config modules are parsed to map a variable to the config key it sets, and the
key's resolved value and the compile modes that override it are asked of torch itself.
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

KNOB_RE = re.compile(r"^(TORCH\w*|PYTORCH_\w+|OPENPI_\w+|CUDA_LAUNCH_BLOCKING)$")
_LITERAL = re.compile(rb"""["']((?:TORCH|PYTORCH_|CUDA_LAUNCH)[A-Z0-9_]*)["']""")
CONFIG_MODULES = ("torch._dynamo.config", "torch._inductor.config", "torch._functorch.config",
                  "torch.compiler.config", "torch.fx.experimental._config")
OFF_LOOKING = {"0", "false", "no", "off", "none", "disable", "disabled", ""}
ON_LOOKING = {"1", "true", "yes", "on", "enable", "enabled"}

# Read by software other than torch; what the lint says of them.
OUTSIDE_TORCH = {
    "CUDA_LAUNCH_BLOCKING": (
        "the CUDA runtime", "trap",
        "CUDA_LAUNCH_BLOCKING=1 makes every kernel launch synchronous: a debugging switch "
        "that serialises the GPU and distorts every timing; unset it outside debugging."),
}
# The openpi DuQuant layer's variables (shared/REFERENCE.md section 3).
OPENPI_EXTRA = {
    "OPENPI_DUQUANT_SCOPE": "which part of the policy is quantised",
    "OPENPI_DUQUANT_INCLUDE": "regex over layer names to quantise",
    "OPENPI_DUQUANT_EXCLUDE": "regex over layer names to leave in float",
    "OPENPI_DUQUANT_WBITS": "per-layer weight bits, name:bits,...",
    "OPENPI_DUQUANT_BLOCK_OUT": "output-rotation block size (default: BLOCK)",
    "OPENPI_DUQUANT_DRYRUN": "list the layers that would be quantised, change nothing",
    "OPENPI_DUQUANT_PACKDIR": "folder of pre-packed quantised weights",
}


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


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "compilecheck")


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


def _resolved(mod: str, key: str):
    import importlib

    obj = importlib.import_module(mod)
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def _modes_setting(key: str) -> dict:
    try:
        from torch._inductor import list_mode_options

        return {m: o[key] for m, o in list_mode_options().items() if key in o}
    except Exception:
        return {}


def _openpi(name: str, value: str) -> dict:
    from .probes.config import ENV_PREFIX, ConfigError, DuQuantConfig

    suffix = name[len(ENV_PREFIX):] if name.startswith(ENV_PREFIX) else None
    if suffix in DuQuantConfig.ENV:
        field, parse = DuQuantConfig.ENV[suffix]
        try:
            parsed = parse(name, value)
        except ConfigError as e:
            return dict(verdict="invalid", advice=f"the DuQuant layer refuses it: {e}")
        return dict(verdict="ok", advice=f"read by the openpi DuQuant layer: {field}={parsed!r}")
    if name in OPENPI_EXTRA:
        return dict(verdict="ok", advice=f"read by the openpi DuQuant layer: {OPENPI_EXTRA[name]}")
    if name == "OPENPI_DISABLE_TORCH_COMPILE":
        on = value.strip().lower() in ("1", "true", "yes")
        return dict(verdict="ok", advice="read by openpi: torch.compile is "
                    + ("DISABLED (eager, ~4 min per episode)" if on else
                       "kept (only 1/true/yes disable it)"))
    return dict(verdict="ignored", advice="not a variable the openpi DuQuant layer or "
                                          "compilecheck knows; check the spelling")


def judge(name: str, value: str, index: TorchEnvIndex) -> dict:
    """One knob finding: {name, value, read_by_torch, verdict, advice}."""
    row = {"name": name, "value": value, "read_by_torch": None, "verdict": "ok", "advice": ""}
    if name.startswith("OPENPI_"):
        row["read_by_torch"] = False
        row.update(_openpi(name, value))
        return row
    if name in OUTSIDE_TORCH:
        who, verdict, advice = OUTSIDE_TORCH[name]
        row.update(read_by_torch=False, verdict=verdict,
                   advice=f"read by {who}, not by torch. {advice}" if value.strip() == "1" else
                   f"read by {who}, not by torch; only 1 turns it on.")
        if value.strip() != "1":
            row["verdict"] = "ok"
        return row
    where = index.where(name)
    row["read_by_torch"] = bool(where)
    if not where:
        hint = index.similar(name)
        alt = f" Did you mean {' or '.join(hint)}?" if hint else ""
        if "CUDAGRAPH" in name or "CUDA_GRAPH" in name:
            alt += (" To run without CUDA graphs use mode='max-autotune-no-cudagraphs', or "
                    "torch.compile(options={..., 'triton.cudagraphs': False}).")
        row.update(verdict="ignored", advice=f"no code in torch {index.version} reads {name}: "
                                             f"setting it does nothing.{alt}")
        return row
    notes, verdict = [], "ok"
    found = _config_key(index.root, name)
    if found:
        mod, key = found
        try:
            resolved = _resolved(mod, key)
        except Exception:
            resolved = None
        short = mod.split(".")[-2] if mod.endswith(".config") else mod
        notes.append(f"sets {mod}.{key} (now {resolved!r}), read once when torch imports it")
        low = value.strip().lower()
        if isinstance(resolved, bool):
            if low in OFF_LOOKING and resolved:
                verdict = "trap"
                notes.append(f"the value {value!r} reads as off but turns {key} ON (torch takes "
                             f"any non-empty value as true); unset the variable to turn it off")
            elif low in ON_LOOKING and not resolved:
                verdict = "trap"
                notes.append(f"the value {value!r} reads as on but leaves {key} OFF; torch "
                             f"accepts a different spelling (see {short} config)")
        overriding = _modes_setting(key)
        if overriding:
            verdict = "overridden" if verdict == "ok" else verdict
            modes = ", ".join(f"{m} ({key}={v})" for m, v in overriding.items())
            notes.append(f"a compile mode overrides this default: {modes}. Under those modes "
                         "no variable changes it")
            if key == "triton.cudagraphs":
                notes.append("to run without CUDA graphs use mode='max-autotune-no-cudagraphs' "
                             "or options=list_mode_options(mode) with triton.cudagraphs False")
    else:
        fns = [_enclosing_function(index.root, p, name) for p in where if p.endswith(".py")]
        fn = next((f for f in fns if f), None)
        if fns and all(f and re.fullmatch(r"_?(compile|optimize)", f) for f in fns):
            verdict = "trap" if verdict == "ok" else verdict
            notes.append(f"read inside {fn}(), i.e. when torch.compile() is called, not "
                         "later: set it before the model is compiled; changing it afterwards "
                         "does not affect functions already compiled")
        elif fn:
            notes.append(f"read at run time inside {fn}() ({where[0]})")
        else:
            notes.append(f"read by {where[0]}")
    if name == "TORCH_LOGS":
        notes.append("while TORCH_LOGS is set, torch._logging.set_logs() calls are ignored")
    row.update(verdict=verdict, advice="; ".join(notes) + ".")
    return row


def set_knobs(environ=None) -> dict[str, str]:
    if environ is None:
        from . import USER_ENVIRON as environ
    return {k: v for k, v in sorted(environ.items())
            if KNOB_RE.match(k) and not k.startswith("COMPILECHECK_")}


def lint(environ=None, index: TorchEnvIndex | None = None) -> list[dict]:
    knobs = set_knobs(environ)
    if not knobs:
        return []
    index = index or TorchEnvIndex()
    return [judge(k, v, index) for k, v in knobs.items()]


def failing(knobs: list[dict]) -> list[dict]:
    """Knobs that --strict refuses: no effect, a trap, overridden, or invalid."""
    return [k for k in knobs if k["verdict"] in ("ignored", "trap", "overridden", "invalid")]
