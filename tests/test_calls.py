"""The call patterns with real modules, real compiles and real threads, on a CPU (the GPU's
answers are in tests/data/gpu and tests/test_gpu_evidence.py)."""
import torch
from torch import nn

from compilecheck.api import check, failures, paragraph
from compilecheck.run.cell import run_cell
from compilecheck.classify.detectors import Observed, detect_all
from compilecheck.observe.records import install_log_capture
from compilecheck.plan.spec import CellSpec

from conftest import probe


def cell(pattern, name="clean", **kw):
    install_log_capture()
    spec = CellSpec(variant=name, mode="default", cudagraphs=False, device="cpu",
                    probe=probe(name), iters=4, pattern=pattern, **kw)
    obs = run_cell(spec)
    return spec, obs, detect_all(Observed(spec, "ok", obs))


def test_threads_calls_alternate_between_two_real_threads():
    spec, obs, findings = cell("threads")
    threads = [c["thread"] for c in obs["calls"]]
    assert threads == ["caller-0", "caller-1", "caller-0", "caller-1"]
    assert obs["error"] is None and obs["max_abs_err"] < 1e-5
    assert findings == []  # without CUDA graphs a thread pool is no hazard


def test_kept_outputs_without_cuda_graphs_stay_what_they_were():
    """The check itself: each output kept and read again after the later calls. Without CUDA
    graphs every call returns fresh memory, so nothing changed and nothing is shared."""
    spec, obs, findings = cell("keep-outputs")
    assert obs["kept"] == {"problems": [], "same_object": 0}
    assert [f.cls for f in findings] == []


def test_grad_enabled_calls_are_reported_as_the_cuda_graph_hazard():
    """A module straight out of training code (parameters require grad) called with grad
    enabled: on a CPU the hazard is predicted from what the calls show."""
    spec, obs, findings = cell("grad")
    assert obs["grad"]["params_requiring_grad"] == 2  # weight and bias of the Linear
    assert all(c["requires_grad"] for c in obs["calls"])
    (f,) = [f for f in findings if f.cls == "cudagraph_never_recorded"]
    assert f.predicts == "cudagraph_never_recorded" and "predicted" in f.detail


class Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8).requires_grad_(False)

    def forward(self, x):
        return self.lin(x)


def test_grad_enabled_calls_of_a_frozen_module_are_no_hazard():
    """Nothing requires grad: autograd records nothing, CUDA graphs are not held back."""
    report = check(Frozen(), (torch.randn(4, 8),), modes=["reduce-overhead"],
                   call_patterns=["grad"], jobs=1)
    grad = [c for c in report.cells if c.pattern == "grad"]
    assert grad and grad[0].status == "pass" and grad[0].findings == []


class Trainable(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        return self.lin(x)


def test_the_fixture_judges_the_patterns_it_is_asked_for():
    """compilecheck.api.check (what the pytest fixture calls) with call_patterns: the grad
    cell counts in the verdict, and its failure paragraph says how the module was called."""
    report = check(Trainable(), (torch.randn(4, 8),), modes=["reduce-overhead"],
                   call_patterns=["grad"], jobs=1)
    bad = failures(report, strict=True)
    assert [c.pattern for c in bad] == ["grad"]
    text = paragraph(bad[0])
    assert "called grad" in text and "cudagraph_never_recorded" in text
    assert "inference_mode" in text  # the fix
    # not asked for: reported, not judged
    quiet = check(Trainable(), (torch.randn(4, 8),), modes=["reduce-overhead"], jobs=1)
    assert [c for c in quiet.cells if c.pattern == "grad" and c.status == "warn"]
    assert failures(quiet, strict=True) == []
