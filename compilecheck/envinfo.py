"""The environment block for a bug ticket: torch's own collect_env, plus the compile config
values as torch resolves them and the TORCH*/OPENPI_* variables that are set."""
from __future__ import annotations

import platform
import sys

from .knobs import set_knobs

CONFIG_VALUES = (
    ("cudagraphs_default", "torch._inductor.config", "triton.cudagraphs"),
    ("cudagraph_trees", "torch._inductor.config", "triton.cudagraph_trees"),
    ("cudagraph_trees_generation_cloning", "torch._inductor.config",
     "triton.cudagraph_trees_generation_cloning"),
    ("graph_partition", "torch._inductor.config", "graph_partition"),
    ("recompile_limit", "torch._dynamo.config", "recompile_limit"),
    ("recompile_limit", "torch._dynamo.config", "cache_size_limit"),  # older torch
    ("suppress_errors", "torch._dynamo.config", "suppress_errors"),
    ("fx_graph_cache", "torch._inductor.config", "fx_graph_cache"),
    ("autotune_local_cache", "torch._inductor.config", "autotune_local_cache"),
)


def compile_config() -> dict:
    import importlib

    out = {}
    for label, mod, key in CONFIG_VALUES:
        if label in out:
            continue
        try:
            obj = importlib.import_module(mod)
            for part in key.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            continue
        out[label] = obj if isinstance(obj, (bool, int, float, str, type(None))) else str(obj)
    return out


def environment(device: str | None = None, full: bool = True) -> dict:
    import torch

    env = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device or ("cuda" if torch.cuda.is_available() else "cpu"),
        "gpu": None, "cuda": torch.version.cuda, "driver": None,
    }
    if torch.cuda.is_available():
        try:
            env["gpu"] = torch.cuda.get_device_name(0)
        except Exception:
            pass
    if full:
        try:
            from torch.utils import collect_env

            info = collect_env.get_env_info()
            env.update(os=info.os, cuda_runtime=info.cuda_runtime_version,
                       driver=info.nvidia_driver_version, gpu=env["gpu"] or info.nvidia_gpu_models,
                       cudnn=info.cudnn_version, gcc=info.gcc_version,
                       cpu=(info.cpu_info or "").splitlines()[0:1] and
                       next((line.split(":", 1)[1].strip() for line in info.cpu_info.splitlines()
                             if line.startswith("Model name")), None))
        except Exception as e:  # collect_env shells out; never let it sink the report
            env["collect_env_error"] = f"{type(e).__name__}: {e}"
    env["variables"] = set_knobs()
    env["config"] = compile_config()
    env["argv"] = " ".join(sys.argv[1:])
    return env
