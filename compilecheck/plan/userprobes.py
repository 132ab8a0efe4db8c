"""Users' own probes: ``path/file.py:factory`` or ``pkg.mod:factory`` returning (module, args)."""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys


class ProbeError(ValueError):
    """A probe SPEC that cannot be loaded, or a factory that misbehaves."""


PICKLE = "pickle:"  # a (module, args) pair saved by compilecheck.api for a worker to load
POLICY = "policy:"  # the built-in pi0-shaped policy: policy:SIZE:VARIANT (diagnose --policy)


def policy_spec(size: str, variant: str) -> str:
    return f"{POLICY}{size}:{variant}"


def policy_parts(spec: str) -> tuple[str, str] | None:
    """(size, variant) of a built-in policy spec, else None."""
    if not spec.startswith(POLICY):
        return None
    size, _, variant = spec[len(POLICY):].partition(":")
    return size, variant or "deployed"


def split_spec(spec: str) -> tuple[str, str]:
    if policy_parts(spec):
        size, variant = policy_parts(spec)
        return spec, f"policy-{size}-{variant}"
    if spec.startswith(PICKLE):
        return spec, os.path.splitext(os.path.basename(spec[len(PICKLE):]))[0]
    if ":" not in spec:
        from .entrypoints import entry_point_probes

        registered = entry_point_probes()
        if spec in registered:
            return registered[spec], spec
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name.isidentifier():
        raise ProbeError(
            f"--probe {spec!r}: expected path/file.py:factory, pkg.mod:factory or the name "
            "of an installed probe (compilecheck diagnose --list)"
        )
    return target, name


def factory_name(spec: str) -> str:
    """The cells' variant: the factory's name (an installed probe's registered name)."""
    return split_spec(spec)[1]


def probe_source(spec: str) -> tuple[str, str, str]:
    """Where a SPEC's factory comes from, as ``load_factory`` finds it: (kind, target, name),
    kind ``policy`` (target the size, name the variant), ``pickle`` (target the file),
    ``file`` (target the absolute path of the .py file) or ``module`` (a dotted module)."""
    if policy_parts(spec):
        return ("policy", *policy_parts(spec))
    if spec.startswith(PICKLE):
        return "pickle", os.path.abspath(spec[len(PICKLE):]), ""
    target, name = split_spec(spec)
    if ":" in target:  # an installed probe: its entry point's "module:factory"
        target, _, name = target.rpartition(":")
    if target.endswith(".py") or os.sep in target or "/" in target:
        return "file", os.path.abspath(target), name
    return "module", target, name


def load_factory(spec: str, config=None, seed: int = 0):
    """The factory a SPEC names; for the built-in policy, one that builds it with ``config``
    (the DuQuant knobs; default: from the environment) and ``seed``."""
    if policy_parts(spec):
        from .. import probes

        size, variant = policy_parts(spec)

        def build_builtin_policy():
            cfg = config if config is not None else probes.DuQuantConfig.from_env()
            return probes.build_policy(size, variant, cfg, seed)

        return build_builtin_policy
    if spec.startswith(PICKLE):
        path = spec[len(PICKLE):]

        def load_pickled():  # (module, args) or a factory, from compilecheck.api (shipping.py)
            from .shipping import loads

            with open(path, "rb") as f:
                obj = loads(f.read())
            return obj() if callable(obj) and not isinstance(obj, tuple) else obj

        return load_pickled
    target, name = split_spec(spec)
    if ":" in target:  # an installed probe: its entry point's "module:factory"
        target, _, name = target.rpartition(":")
    if target.endswith(".py") or os.sep in target or "/" in target:
        path = os.path.abspath(target)
        if not os.path.isfile(path):
            raise ProbeError(f"--probe {spec!r}: no such file {target!r}")
        mod_name = "_compilecheck_probe_" + os.path.splitext(os.path.basename(path))[0]
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception as e:  # the user's file itself fails to import
            raise ProbeError(f"--probe {spec!r}: importing {target} failed: "
                             f"{type(e).__name__}: {e}") from e
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as e:
            raise ProbeError(f"--probe {spec!r}: cannot import module {target!r} ({e})") from e
        except Exception as e:
            raise ProbeError(f"--probe {spec!r}: importing {target} failed: "
                             f"{type(e).__name__}: {e}") from e
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ProbeError(f"--probe {spec!r}: {target} has no callable {name!r}")
    return factory


def call_factory(factory, spec: str):
    """factory() -> (nn.Module, tuple of example inputs), checked."""
    import torch

    try:
        result = factory()
    except Exception as e:
        raise ProbeError(f"--probe {spec!r}: the factory raised {type(e).__name__}: {e}") from e
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ProbeError(f"--probe {spec!r}: the factory must return (module, args), "
                         f"got {type(result).__name__}")
    module, args = result
    if not isinstance(module, torch.nn.Module):
        raise ProbeError(f"--probe {spec!r}: the factory's module is a "
                         f"{type(module).__name__}, not a torch.nn.Module")
    if isinstance(args, torch.Tensor):
        args = (args,)
    if not isinstance(args, (tuple, list)):
        raise ProbeError(f"--probe {spec!r}: the factory's args must be a tuple of inputs, "
                         f"got {type(args).__name__}")
    return module, tuple(args)
