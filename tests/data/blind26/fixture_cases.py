"""Blind set 26 through the pytest fixture (issue 26, point 6). Not collected by `pytest tests`
(the name does not match test_*.py); run it explicitly, from outside the repository, with the
compilecheck checkout under test on PYTHONPATH and its plugin loaded:
    cd /tmp && PYTHONPATH=CHECKOUT:BLIND26/probes PY -m pytest -p compilecheck.pytest_plugin \
        --compilecheck-device cpu --confcutdir BLIND26 -q -rA BLIND26/fixture_cases.py
Expected outcomes are the frozen truth (TRUTH.frozen.md, "Fixture cases")."""
import importlib.util
import os

import pytest
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ["reduce-overhead"]


def probe(name):
    spec = importlib.util.spec_from_file_location(f"b26_{name}", os.path.join(HERE, "probes", f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.factory()


def test_local_class_clean(compilecheck):
    class Step(nn.Module):  # defined inside the test, as users write them
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)

        def forward(self, x):
            return torch.relu(self.lin(x))

    torch.manual_seed(0)
    compilecheck(Step(), (torch.randn(4, 8),), modes=MODES)


def test_local_class_keeps_output(compilecheck):
    class Keep(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)
            self.last = None

        def forward(self, x):
            y = self.lin(x)
            if self.last is not None:
                y = y + self.last
            self.last = y * 2
            return y

    torch.manual_seed(0)
    with pytest.raises(AssertionError, match="last"):
        compilecheck(Keep(), (torch.randn(4, 8),), modes=MODES)


def test_lora_linear_holding_lambda_clean(compilecheck):
    module, args = probe("lora_linear")
    compilecheck(module, args, modes=MODES)


def test_rsl_obsnorm_clean(compilecheck):
    module, args = probe("rsl_obsnorm")
    compilecheck(module, args, modes=MODES)


def test_snn_leaky_holding_closure_flags_mem(compilecheck):
    module, args = probe("snn_leaky")
    with pytest.raises(AssertionError, match="mem"):
        compilecheck(module, args, modes=MODES)


def test_tao_minmax_flags_min_max(compilecheck):
    module, args = probe("tao_minmax")
    with pytest.raises(AssertionError, match="min_val|max_val"):
        compilecheck(module, args, modes=MODES)
