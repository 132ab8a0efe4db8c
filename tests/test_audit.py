"""The state audit on real modules, in this process (eager calls, no compile): every write
forward makes, with its own line, on which calls, and what it stores."""
import torch
from torch import nn

from compilecheck import probes
from compilecheck.observe.audit import run_audit
from compilecheck.probes.config import DuQuantConfig
from compilecheck.observe.statediff import Checkpoint
from compilecheck.observe.statewalk import walk
from compilecheck.run.subject import step_inputs

from conftest import FIXTURES

STATE = FIXTURES / "state_probes.py"


def marker_line(marker: str, path=STATE) -> str:
    """file:line of the line carrying ``# WRITE <marker>`` (the write itself)."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.rstrip().endswith(f"# WRITE {marker}") or f"# WRITE {marker} " in line:
            return f"{i}"
    raise AssertionError(marker)


def audit_of(factory_name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location("state_probes", STATE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    module, args = getattr(mod, factory_name)()
    steps = step_inputs(args, 4, 0)
    return run_audit(module, lambda i: steps[i % len(steps)]), module


def writes_by_path(audit):
    return {w.path: w for w in audit.writes}


def line_of(w) -> str:
    assert w.where and w.where.split(":")[0].endswith("state_probes.py"), w.where
    return w.where.rsplit(":", 1)[1]


def test_lazy_tensor_attribute():
    a, _ = audit_of("lazy_attr")
    w = writes_by_path(a)
    assert set(w) == {"scale"}
    s = w["scale"]
    assert (s.kind, s.calls, s.changed, s.tensor, s.read_later) == \
        ("rebind", "first", "first", True, True)
    assert line_of(s) == marker_line("lazy_attr scale")
    assert a.warmup == 1


def test_buffer_filled_in_place_and_a_flag():
    a, _ = audit_of("inplace_buffer")
    w = writes_by_path(a)
    assert (w["scale"].kind, w["scale"].calls, w["scale"].tensor) == ("inplace", "first", True)
    assert line_of(w["scale"]) == marker_line("inplace_buffer scale")
    assert (w["ready"].kind, w["ready"].calls, w["ready"].tensor) == ("value", "first", False)
    assert line_of(w["ready"]) == marker_line("inplace_buffer ready")


def test_cache_dict_entry_is_a_stored_tensor_read_later():
    a, _ = audit_of("cache_dict")
    w = writes_by_path(a)
    entry = w["_cache['w']"]
    assert (entry.kind, entry.tensor, entry.read_later, entry.calls) == \
        ("create", True, True, "first")
    assert line_of(entry) == marker_line("cache_dict entry")
    assert w["_cache"].changed == "first"


def test_calibrator_object_with_a_window():
    a, _ = audit_of("window_calibrated")
    w = writes_by_path(a)
    assert w["calib.seen"].calls == "until 5" and not w["calib.seen"].tensor
    assert line_of(w["calib.seen"]) == marker_line("calibrator seen")
    assert w["calib.running"].read_later  # each observe() reads the previous call's max
    assert w["scale"].kind == "inplace" and w["scale"].changed == "until 5"
    assert w["frozen"].changed == "until 5"
    assert a.warmup == 5  # the window, then nothing changes
    assert "observe" in a.one_time


def test_running_statistics_are_every_call_and_need_no_warm_up():
    a, _ = audit_of("running_stats")
    w = writes_by_path(a)
    assert set(w) == {"running_mean"}
    assert (w["running_mean"].kind, w["running_mean"].calls) == ("inplace", "every")
    assert a.warmup == 0


def test_growing_cache_reads_what_the_previous_call_stored():
    a, _ = audit_of("growing_cache")
    w = writes_by_path(a)["cache"]
    assert (w.kind, w.calls, w.tensor, w.read_later) == ("rebind", "every", True, True)
    assert line_of(w) == marker_line("growing cache")


def test_attribute_on_a_parameter_points_at_its_own_line():
    """Not at the unrelated `self.CB = None` elsewhere in the file."""
    a, _ = audit_of("param_attribute")
    w = writes_by_path(a)
    assert set(w) == {"lin.weight.CB"}
    assert line_of(w["lin.weight.CB"]) == marker_line("param attribute")
    assert w["lin.weight.CB"].calls == "every" and w["lin.weight.CB"].changed == "first"


def test_torchs_lazy_modules_are_marked_lazy():
    a, _ = audit_of("lazy_linear")
    assert a.writes and all(w.lazy for w in a.writes)


def test_the_deployed_layer_writes_what_reference_section_3_lists():
    p = probes.build("deployed", probes.parse_shape("tiny"), DuQuantConfig(), 0, 4)
    a = run_audit(p.module, lambda i: (p.inputs[i % 4],))
    w = writes_by_path(a)
    for path in ("_act_scale", "_act_scale_initialized", "calibrator._seen",
                 "calibrator._p_running", "_W_t", "_w_scales", "_W_t_quantized",
                 "_cached_weight_key", "_weight_quantized_cached", "_R_in_cache_dict",
                 "_R_out_cache_dict"):
        assert path in w, path
        assert w[path].where and "deployed.py" in w[path].where
    assert w["_act_scale"].read_later and w["_act_scale"].function == "_set_act_scale"
    assert w["_W_t"].kind == "inplace" and w["_cached_weight_key"].kind == "value"
    assert w["_R_in_cache_dict"].calls == "every" and w["_R_in_cache_dict"].changed == "first"
    assert w["_bias_rot"].changed == "never"  # written, but with the value already there
    assert a.warmup == 1
    assert "_maybe_update_weight_cache" in a.one_time


def test_the_audit_leaves_no_trace_on_classes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("state_probes2", STATE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    before = nn.Module.__dict__["__setattr__"]
    module, args = mod.window_calibrated()
    run_audit(module, lambda i: args)
    assert nn.Module.__dict__["__setattr__"] is before
    assert "__setattr__" not in vars(mod.WindowCalibrated)
    assert "__setattr__" not in vars(mod.Calibrator)


def test_checkpoint_puts_a_growing_cache_back():
    import importlib.util

    spec = importlib.util.spec_from_file_location("state_probes3", STATE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    module, (x,) = mod.growing_cache()
    module(x)
    cp = Checkpoint(module)
    for _ in range(3):
        module(x)
    assert module.cache.shape[0] == 16
    cp.restore()
    assert module.cache.shape[0] == 4
    assert walk(module)["cache"].print == cp.snapshot["cache"].print


def test_inputs_of_later_steps_stay_on_the_examples_device():
    """A factory may return inputs already on the GPU: the noise of later steps follows."""
    x = torch.empty(4, 8, device="meta")
    steps = step_inputs((x,), 3, 0)
    assert all(s[0].device.type == "meta" for s in steps)


def test_batch_norm_running_statistics_written_by_its_kernel_are_seen():
    """torch's batch norm kernel updates running_mean/var in place without moving their version
    counter (and its schema does not say it writes them): the audit sees the data change, and
    places it at the layer's own line in torch."""
    module = nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16))  # training mode
    x = torch.randn(8, 16)
    a = run_audit(module, lambda i: (x + i,))
    w = writes_by_path(a)
    for path in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        assert (w[path].kind, w[path].calls) == ("inplace", "every"), path
        assert w[path].where and w[path].where.startswith("torch/nn/modules/batchnorm.py:")
    assert a.warmup == 0  # running statistics: nothing a warm-up removes


def test_one_input_given_twice_stays_one_input_in_later_steps():
    """Self-attention called as m(x, x, x): later steps' inputs keep the aliasing (dynamo
    guards on it), so the harness does not invent a recompile."""
    x = torch.randn(2, 5, 8)
    steps = step_inputs((x, x, x), 3, 0)
    assert all(s[0] is s[1] is s[2] for s in steps)
    assert not torch.equal(steps[1][0], steps[0][0])
