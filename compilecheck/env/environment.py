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


def _collect_env() -> dict:
    """torch.utils.collect_env's answers for a ticket. Its helpers one by one where this torch
    has them (get_env_info() also lists every pip and conda package: seconds we do not need),
    else get_env_info() itself. It shells out; nothing it does may sink the report."""
    try:
        from torch.utils import collect_env as ce
    except Exception as e:
        return {"collect_env_error": f"{type(e).__name__}: {e}"}
    helpers = dict(os="get_os", cuda_runtime="get_running_cuda_version",
                   driver="get_nvidia_driver_version", gpu_models="get_gpu_info",
                   cudnn="get_cudnn_version", gcc="get_gcc_version", cpu_info="get_cpu_info")
    run = getattr(ce, "run", None)
    out: dict = {}
    try:
        if run is not None and all(hasattr(ce, h) for h in helpers.values()):
            for key, name in helpers.items():
                out[key] = getattr(ce, name)(run)
        else:
            info = ce.get_env_info()
            out = dict(os=info.os, cuda_runtime=info.cuda_runtime_version,
                       driver=info.nvidia_driver_version, gpu_models=info.nvidia_gpu_models,
                       cudnn=info.cudnn_version, gcc=info.gcc_version, cpu_info=info.cpu_info)
    except Exception as e:
        out["collect_env_error"] = f"{type(e).__name__}: {e}"
    cpu = out.pop("cpu_info", None) or ""
    out["cpu"] = next((line.split(":", 1)[1].strip() for line in cpu.splitlines()
                       if line.startswith("Model name")), None)
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
        env.update(_collect_env())
        env["gpu"] = env["gpu"] or env.pop("gpu_models", None)
        env.pop("gpu_models", None)
    env["variables"] = set_knobs()
    env["config"] = compile_config()
    env["argv"] = " ".join(sys.argv[1:])
    return env
