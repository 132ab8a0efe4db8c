"""The knob lint against the installed torch: real reads in real subprocesses, no mocks."""
import json
import os
import subprocess
import sys

import pytest

from conftest import probe, run_cli


def env_json(extra, *args):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TORCH", "PYTORCH_", "OPENPI_", "CUDA_LAUNCH"))}
    env.update(extra)
    p = subprocess.run([sys.executable, "-m", "compilecheck", "env", "--json", *args],
                       env=env, capture_output=True, text=True, timeout=300)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip().startswith("{") else None, p


@pytest.fixture(scope="module")
def users_env():
    """The environment our first users exported, plus a few more."""
    rc, out, p = env_json({
        "TORCH_CUDA_GRAPH_DISABLE": "1",
        "TORCHINDUCTOR_DISABLE_CUDAGRAPHS": "1",
        "TORCHDYNAMO_SUPPRESS_ERRORS": "0",
        "TORCHINDUCTOR_CUDAGRAPHS": "0",
        "TORCHDYNAMO_DISABLE": "0",
        "TORCHDYNAMO_VERBOSE": "1",
        "OPENPI_DUQUANT_ABITS": "16",
        "OPENPI_DUQUANT_BLOCK": "sixteen",
        "OPENPI_DISABLE_TORCH_COMPILE": "1",
        "CUDA_LAUNCH_BLOCKING": "1",
        "MY_UNRELATED_VARIABLE": "1",
    })
    assert out is not None, p.stderr
    return rc, {k["name"]: k for k in out["knobs"]}, out


def test_variables_torch_does_not_read(users_env):
    _, knobs, _ = users_env
    for name in ("TORCH_CUDA_GRAPH_DISABLE", "TORCHINDUCTOR_DISABLE_CUDAGRAPHS"):
        assert knobs[name]["read_by_torch"] is False
        assert knobs[name]["verdict"] == "ignored"
        assert "max-autotune-no-cudagraphs" in knobs[name]["advice"]


def test_variable_torch_reads(users_env):
    _, knobs, _ = users_env
    assert knobs["TORCHDYNAMO_VERBOSE"]["read_by_torch"] is True
    assert knobs["TORCHDYNAMO_VERBOSE"]["verdict"] == "ok"


def test_zero_that_enables(users_env):
    _, knobs, out = users_env
    k = knobs["TORCHDYNAMO_SUPPRESS_ERRORS"]
    assert k["read_by_torch"] is True and k["verdict"] == "trap"
    assert "ON" in k["advice"] and "unset" in k["advice"]
    assert out["environment"]["config"]["suppress_errors"] is True  # as torch resolved it


def test_env_default_overridden_by_modes(users_env):
    _, knobs, _ = users_env
    k = knobs["TORCHINDUCTOR_CUDAGRAPHS"]
    assert k["read_by_torch"] is True and k["verdict"] == "overridden"
    import torch._inductor

    for mode, opts in torch._inductor.list_mode_options().items():
        if opts.get("triton.cudagraphs"):
            assert mode in k["advice"]
    assert "max-autotune-no-cudagraphs" in k["advice"]


def test_read_only_when_compile_is_called(users_env):
    _, knobs, _ = users_env
    k = knobs["TORCHDYNAMO_DISABLE"]
    assert k["read_by_torch"] is True and "torch.compile() is called" in k["advice"]


def test_openpi_and_cuda_knobs(users_env):
    _, knobs, _ = users_env
    assert knobs["OPENPI_DUQUANT_ABITS"]["verdict"] == "ok"
    assert "abits=16" in knobs["OPENPI_DUQUANT_ABITS"]["advice"]
    assert knobs["OPENPI_DUQUANT_BLOCK"]["verdict"] == "invalid"
    assert "OPENPI_DISABLE_TORCH_COMPILE" in knobs and "DISABLED" in \
        knobs["OPENPI_DISABLE_TORCH_COMPILE"]["advice"]
    assert knobs["CUDA_LAUNCH_BLOCKING"]["verdict"] == "trap"
    assert "synchronous" in knobs["CUDA_LAUNCH_BLOCKING"]["advice"]


def test_unrelated_variable_not_reported(users_env):
    _, knobs, _ = users_env
    assert "MY_UNRELATED_VARIABLE" not in knobs


def test_environment_block(users_env):
    _, _, out = users_env
    import torch

    env = out["environment"]
    assert env["torch"] == torch.__version__
    for key in ("python", "platform", "device", "gpu", "cuda", "driver", "config", "variables"):
        assert key in env
    assert env["variables"]["TORCH_CUDA_GRAPH_DISABLE"] == "1"
    assert "recompile_limit" in env["config"] and "cudagraphs_default" in env["config"]


def test_strict_exit_codes():
    assert env_json({"TORCH_CUDA_GRAPH_DISABLE": "1"}, "--strict")[0] == 1
    assert env_json({"TORCH_CUDA_GRAPH_DISABLE": "1"})[0] == 0
    assert env_json({"TORCHDYNAMO_VERBOSE": "1"}, "--strict")[0] == 0
    assert env_json({}, "--strict")[0] == 0


def test_env_prints_a_table():
    p = subprocess.run([sys.executable, "-m", "compilecheck", "env"],
                       env=dict(os.environ, TORCHINDUCTOR_DISABLE_CUDAGRAPHS="1"),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0
    assert "TORCHINDUCTOR_DISABLE_CUDAGRAPHS" in p.stdout and "ignored" in p.stdout


def test_diagnose_carries_the_knobs_and_never_recommends_an_ignored_variable(tmp_path):
    r = run_cli(["diagnose", "--probe", probe("clean"), "--mode", "default", "--cudagraphs",
                 "off", "--quiet"], tmp_path,
                env={"TORCH_CUDA_GRAPH_DISABLE": "1", "TORCHDYNAMO_SUPPRESS_ERRORS": "0"})
    knobs = {k["name"]: k for k in r.report["knobs"]}
    assert knobs["TORCH_CUDA_GRAPH_DISABLE"]["verdict"] == "ignored"
    assert "TORCH_CUDA_GRAPH_DISABLE" in r.stdout
    assert "TORCH_CUDA_GRAPH_DISABLE" not in r.report["recommendation"]["summary"]
    assert "TORCHINDUCTOR_DISABLE_CUDAGRAPHS" not in r.report["recommendation"]["summary"]
