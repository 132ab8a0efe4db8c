"""pytest plugin, installed probes (entry points), --list, python -m compilecheck."""
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT

pytest_plugins = ["pytester"]

LAYERS = '''
import torch
from torch import nn


class LazyScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)
        self._act_scale = None

    def forward(self, x):
        if self._act_scale is None:
            self._act_scale = x.abs().amax(dim=0)
        return self.lin(x / self._act_scale)


class Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)
        self.register_buffer("scale", torch.ones(8))

    def forward(self, x):
        return self.lin(x / self.scale)
'''


@pytest.fixture
def suite(pytester):
    pytester.makepyfile(mylayers=LAYERS)
    pytester.makepyfile(test_layers='''
        import pytest
        import torch
        from mylayers import Frozen, LazyScale


        def test_lazy(compilecheck):
            compilecheck(LazyScale(), (torch.randn(4, 8),), modes=["default"], cudagraphs="off")


        def test_lazy_not_strict(compilecheck):
            report = compilecheck(LazyScale(), (torch.randn(4, 8),), modes=["default"],
                                  cudagraphs="off", strict=False)
            assert report.verdict == "WARN"
            assert [c.classes for c in report.compiled_cells] == [["state_mutation"]]


        def test_frozen(compilecheck):
            report = compilecheck(Frozen(), (torch.randn(4, 8),), modes=["default"],
                                  cudagraphs="off")
            assert report.verdict == "PASS"
            # nothing to warm up: the warm-up rung is the module as deployed
            assert report.recommendation["name"] == "full-fix"


        @pytest.mark.compilecheck_cuda
        def test_under_cuda_graphs(compilecheck):
            compilecheck(LazyScale(), (torch.randn(4, 8),), modes=["reduce-overhead"],
                         cudagraphs="on")
    ''')
    return pytester


def test_pytest_fixture(suite):
    result = suite.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=600)
    import torch

    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1 and outcomes.get("passed") == 2
    if not torch.cuda.is_available():
        assert outcomes.get("skipped") == 1
    # the failure message is the finding in one paragraph: class, attribute, file:line, fix
    result.stdout.fnmatch_lines([
        "*AssertionError: compilecheck: LazyScale / default / cudagraphs off: state_mutation "
        "at *mylayers.py:13: `_act_scale` is a tensor that forward computes and stores in "
        "state*A warm-up of 1 eager call*Fix: Run forward eagerly on the target "
        "device before torch.compile*",
    ])


def test_plugin_is_registered_through_pytest11():
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert eps.get("compilecheck") == "compilecheck.pytest_plugin"


@pytest.fixture
def installed_probe(tmp_path):
    """A package that registers a probe under the entry-point group compilecheck.probes."""
    site = tmp_path / "site"
    (site / "acme_probes").mkdir(parents=True)
    (site / "acme_probes" / "__init__.py").write_text(textwrap.dedent('''
        import torch
        from torch import nn


        def attention_proj():
            return nn.Sequential(nn.Linear(8, 16), nn.GELU()), (torch.randn(4, 8),)
    '''))
    dist = site / "acme_probes-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-probes\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[compilecheck.probes]\nacme-attn = acme_probes:attention_proj\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))


def test_installed_probe_is_listed_and_runs(installed_probe, tmp_path):
    p = subprocess.run([sys.executable, "-m", "compilecheck", "diagnose", "--list"],
                       env=installed_probe, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0
    for name in ("lazy", "buffer-clone", "deployed", "calibrated", "weight-only", "acme-attn",
                 "tiny"):
        assert name in p.stdout
    assert "acme_probes:attention_proj" in p.stdout
    p = subprocess.run([sys.executable, "-m", "compilecheck", "diagnose", "--probe",
                        "acme-attn", "--mode", "default", "--cudagraphs", "off", "--quiet",
                        "--json", str(tmp_path / "r.json")],
                       env=installed_probe, capture_output=True, text=True, timeout=600,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("compilecheck: PASS for acme-attn")  # the first screen


def test_python_dash_m_from_the_repository_root():
    """From the root, the local compilecheck/ folder shadows the installed package; the
    probes must still be found (compilecheck.probes lives in probes/)."""
    p = subprocess.run([sys.executable, "-m", "compilecheck", "diagnose", "--list"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=""))
    assert p.returncode == 0, p.stderr
    assert "buffer-clone" in p.stdout
    script = os.path.join(os.path.dirname(sys.executable), "compilecheck")
    q = subprocess.run([script, "diagnose", "--list"], capture_output=True, text=True,
                       timeout=120)
    assert q.returncode == 0 and q.stdout == p.stdout
