"""Packaging: the wheel carries the probes as compilecheck.probes (no top-level `probes`),
and the light commands do not import torch."""
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT


def test_wheel_carries_the_probes_inside_the_package(tmp_path):
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0 and "No module named" in p.stderr:
        pytest.skip(f"cannot build a wheel here: {p.stderr.strip().splitlines()[-1]}")
    assert p.returncode == 0, p.stderr
    wheel = next(tmp_path.glob("compilecheck-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for f in ("compilecheck/probes/__init__.py", "compilecheck/probes/duquant.py",
              "compilecheck/probes/deployed.py",
              "compilecheck/cli.py", "compilecheck/pytest_plugin.py"):
        assert f in names
    assert not [n for n in names if n.startswith("probes/")]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "compilecheck = compilecheck.cli:main_script" in text
    assert "[pytest11]" in text


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["explain", str(ROOT / "tests" / "data" / "logs" / "cpu_graph_break.log")],
    ["diagnose", "--iters", "1"],  # refused before torch is needed
])
def test_light_commands_do_not_import_torch(argv):
    code = ("import sys\nfrom compilecheck.cli import run\n"
            "try:\n    run(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('TORCH_LOADED=%s' % ('torch' in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "TORCH_LOADED=False" in p.stderr, p.stderr
