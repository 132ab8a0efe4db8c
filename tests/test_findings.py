"""Detectors against real torch behaviour, one cell run in this process (no workers)."""
import dataclasses

import pytest

from compilecheck.run.cell import run_cell
from compilecheck.observe.records import install_log_capture
from compilecheck.classify.detectors import Observed, detect_all, error_class
from compilecheck.vocab.findings import status_of
from compilecheck.vocab.messages import guard_attribute
from compilecheck.plan.spec import CellSpec

from conftest import probe


def observe(spec: CellSpec):
    install_log_capture()
    obs = run_cell(spec)
    return detect_all(Observed(spec, "ok", obs)), obs


def test_cudagraph_skip_is_counted_by_torch_and_reported():
    """Asking for CUDA graphs on a CPU module: inductor skips them (and counts the skip)."""
    spec = CellSpec(variant="clean", mode="reduce-overhead", cudagraphs=True, device="cpu",
                    probe=probe("clean"), iters=3)
    findings, obs = observe(spec)
    assert obs["counters"]["inductor"]["cudagraph_skips"] >= 1
    assert [f.cls for f in findings] == ["cudagraph_skipped"]
    assert status_of(findings) == "warn"
    # the same cell without CUDA graphs asked for: nothing to report
    findings, _ = observe(dataclasses.replace(spec, cudagraphs=False))
    assert findings == []


def test_recompile_limit_from_torchs_own_warning():
    """State that changes on every call: a recompile each call until torch's limit."""
    import torch

    spec = CellSpec(variant="counter", mode="default", cudagraphs=False, device="cpu",
                    probe=probe("counter"),
                    iters=torch._dynamo.config.recompile_limit + 3)
    findings, obs = observe(spec)
    classes = {f.cls for f in findings}
    assert "state_mutation" in classes
    sm = [f for f in findings if f.cls == "state_mutation"][0]
    assert "`calls`" in sm.detail and sm.where.endswith("user_probes.py:" + str(
        _line_of("self.calls = self.calls + 1")))
    if sum(1 for m in obs["metrics"] if m["recompile_reason"]) == 1:
        # torch 2.7 makes an int attribute of a user module a dynamic input after its first
        # change: one recompile, no limit to reach; the finding must say so
        assert "recompile_limit" not in classes and "stopped guarding" in sm.detail
    else:
        assert "recompile_limit" in classes, obs["logs"][-5:]


def _line_of(text):
    from conftest import USER_PROBES

    for i, line in enumerate(USER_PROBES.read_text().splitlines(), 1):
        if text in line:
            return i
    raise AssertionError(text)


@pytest.mark.parametrize("guard,attr", [
    ("self._act_scale is None", "_act_scale"),
    ("self._buffers['_act_scale'] is None", "_act_scale"),
    ("L['self']._modules['proj']._buffers['inv_freq'] is None", "inv_freq"),
    ("___check_obj_id(self.cache, 140234)", "cache"),
    ("tensor 'x' size mismatch at index 0. expected 4, actual 8", None),
    ("L['x'].size()[0] == 16", None),
])
def test_guard_attribute(guard, attr):
    assert guard_attribute(guard) == attr


def test_identity_guards_on_none_and_bools_are_named():
    """torch 2.7 guards None and bools by identity; the worker names the object, as newer
    torch's own guards do (`is None`, `== True`), and leaves other identities alone."""
    from compilecheck.observe.records import _named_id_guards

    assert _named_id_guards(f"0/0: ___check_obj_id(self._act_scale, {id(None)})") == \
        "0/0: self._act_scale is None"
    assert _named_id_guards(f"0/0: ___check_obj_id(L['self'].ready, {id(False)})") == \
        "0/0: L['self'].ready == False"
    assert _named_id_guards("0/0: ___check_obj_id(L['self'], 140234)") == \
        "0/0: ___check_obj_id(L['self'], 140234)"
    assert guard_attribute(_named_id_guards(
        f"___check_obj_id(self._act_scale_initialized, {id(True)})")) == "_act_scale_initialized"


@pytest.mark.parametrize("err,cls", [
    ({"type": "builtins.RuntimeError", "mro": ["builtins.RuntimeError"],
      "message": "Error: accessing tensor output of CUDAGraphs that has been overwritten by a "
                 "subsequent run. Stack trace: ..."}, "cudagraph_overwrite"),
    ({"type": "torch.OutOfMemoryError", "mro": ["torch.OutOfMemoryError",
                                                 "builtins.RuntimeError"],
      "message": "CUDA out of memory. Tried to allocate 2.00 GiB"}, "oom"),
    ({"type": "torch._dynamo.exc.BackendCompilerFailed",
      "mro": ["torch._dynamo.exc.BackendCompilerFailed", "builtins.Exception"],
      "message": "backend='inductor' raised: ..."}, "compile_error"),
    ({"type": "builtins.ValueError", "mro": ["builtins.ValueError"], "message": "bad"},
     "runtime_error"),
])
def test_one_error_one_class(err, cls):
    """Exception records as the worker sends them (type names from the real class's MRO)."""
    assert error_class(err) == cls


def test_output_of_another_shape_is_a_numeric_mismatch():
    spec = CellSpec(variant="shape_change", mode="default", cudagraphs=False, device="cpu",
                    probe=probe("shape_change"), iters=3)
    findings, obs = observe(spec)
    assert [f.cls for f in findings] == ["numeric_mismatch"]
    assert "shape (2, 8)" in findings[0].detail and "eager (4, 8)" in findings[0].detail
