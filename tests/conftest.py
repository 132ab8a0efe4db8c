"""Shared runs: the real CLI in a real subprocess, once per session, reused by many tests."""
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
USER_PROBES = FIXTURES / "user_probes.py"


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    report: dict | None
    json_path: Path
    md_path: Path
    log_path: Path


def run_cli(args, tmp: Path, env=None, timeout=900, cwd=None, name="report") -> Run:
    json_path, md_path, log_path = tmp / f"{name}.json", tmp / f"{name}.md", tmp / f"{name}.log"
    full_env = dict(os.environ)
    full_env.update(env or {})
    extra = ["--json", str(json_path), "--markdown", str(md_path), "--log", str(log_path)] \
        if args[:1] == ["diagnose"] else []
    p = subprocess.run([sys.executable, "-m", "compilecheck", *args, *extra], cwd=cwd or tmp,
                       env=full_env, capture_output=True, text=True, timeout=timeout)
    report = json.loads(json_path.read_text()) if json_path.exists() else None
    return Run(p.returncode, p.stdout, p.stderr, report, json_path, md_path, log_path)


def probe(name: str) -> str:
    return f"{USER_PROBES}:{name}"


def cells(report, **match):
    return [c for c in report["cells"]
            if all(c.get(k) == v for k, v in match.items())]


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """The README's diagnosis: every built-in variant, every mode, CUDA graphs on and off."""
    return run_cli(["diagnose"], tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="session")
def misbehaving_run(tmp_path_factory):
    """Users' modules that crash, hang, run out of memory, mismatch, break the graph."""
    names = ["mismatch", "aborts", "segfaults", "hangs", "ooms", "breaks", "lazy_state",
             "clean"]
    args = ["diagnose", "--mode", "default", "--cudagraphs", "off", "--timeout", "30"]
    for n in names:
        args += ["--probe", probe(n)]
    return run_cli(args, tmp_path_factory.mktemp("misbehaving"))


TICKET_PROBES = FIXTURES / "ticket_probes.py"


@pytest.fixture(scope="session")
def ticket_run(tmp_path_factory):
    """diagnose --ticket on modules that really fail under torch.compile on a CPU: a compile
    error, a numeric mismatch, a crash, and a lazy scale whose CUDA-graph failure is
    predicted (on the CPU also where a GPU is: its repro then runs there). Returns (run,
    the ticket folder)."""
    tmp = tmp_path_factory.mktemp("ticket")
    args = ["diagnose", "--device", "cpu", "--mode", "reduce-overhead", "--call-pattern", "loop",
            "--timeout", "180", "--ticket", str(tmp / "ticket")]
    for name in ("layout_fallback", "bf16_euler", "lazy_scale"):
        args += ["--probe", f"{TICKET_PROBES}:{name}"]
    args += ["--probe", probe("aborts")]
    return run_cli(args, tmp), tmp / "ticket"
