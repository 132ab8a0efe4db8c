"""The pytest plugin (registered through the pytest11 entry point).

    def test_layer_survives_compile(compilecheck):
        compilecheck(MyLayer(), (torch.randn(4, 64),), modes=["default"], cudagraphs="off")
        compilecheck(factory=build, modes=["default"])  # build() -> (module, args), in a worker

The fixture diagnoses the module in isolated workers, returns the Report, and fails the test
with the finding in one paragraph when a cell fails (or, strict by default, warns). Mark a
test ``@pytest.mark.compilecheck_cuda`` to skip it cleanly where no CUDA device is usable.
"""
from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "compilecheck_cuda: needs a CUDA device (CUDA graphs); skipped without one")


def pytest_addoption(parser):
    group = parser.getgroup("compilecheck")
    group.addoption("--compilecheck-device", default="auto", choices=["auto", "cpu", "cuda"],
                    help="device for the compilecheck fixture (default: cuda when available)")


def pytest_runtest_setup(item):
    if item.get_closest_marker("compilecheck_cuda"):
        import torch

        if not torch.cuda.is_available():
            pytest.skip("compilecheck_cuda: no CUDA device here (CUDA graphs need one)")


@pytest.fixture
def compilecheck(request):
    from .api import check, failures, paragraph

    device = request.config.getoption("--compilecheck-device")

    from .plan.shipping import CannotShip

    def run(module=None, args=(), modes=None, cudagraphs="both", strict=True, **kwargs):
        kwargs.setdefault("device", device)
        refused = None
        try:
            report = check(module, args, modes=modes, cudagraphs=cudagraphs, **kwargs)
        except CannotShip as e:  # what cannot travel to a worker, and the way out: one line
            refused = str(e)
        if refused:
            pytest.fail(refused, pytrace=False)
        bad = failures(report, strict)
        if bad:
            raise AssertionError("\n".join(dict.fromkeys(paragraph(c) for c in bad)))
        return report

    return run
