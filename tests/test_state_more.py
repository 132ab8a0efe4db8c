"""State wherever forward puts it, and a hazard only where the order of reads and writes makes
one (issue #21): the modules of tests/fixtures/state_more.py, audited in this process and
diagnosed with real compiles (one run per module, shared)."""
import importlib.util

import pytest
import torch

from compilecheck.classify.statewords import effect
from compilecheck.observe.audit import run_audit
from compilecheck.observe.statediff import Checkpoint
from compilecheck.observe.statewalk import walk
from compilecheck.run.subject import step_inputs

from conftest import FIXTURES, run_cli

MORE = FIXTURES / "state_more.py"


def _fixtures():
    spec = importlib.util.spec_from_file_location("state_more", MORE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def marker(text: str) -> str:
    for i, line in enumerate(MORE.read_text().splitlines(), 1):
        if f"# WRITE {text}" in line:
            return f"state_more.py:{i}"
    raise AssertionError(text)


def audit(name, max_calls=12):
    module, args = getattr(_fixtures(), name)()
    steps = step_inputs(args, 4, 0)
    a = run_audit(module, lambda i: steps[i % len(steps)], max_calls=max_calls)
    return {w.path: w for w in a.writes}, a


def test_a_cache_objects_per_layer_entries_are_walked_and_named():
    w, a = audit("cache_object")
    for i in (0, 1):
        k = w[f"cache.layers[{i}].keys"]
        assert (k.kind, k.calls, k.tensor, k.read_later, k.reads) == \
            ("rebind", "every", True, True, "earlier")
        assert k.where.endswith(marker("layer keys"))
    assert a.warmup == 0  # no warm-up ends a cache grown every call


def test_a_cache_passed_as_an_argument_is_walked_under_args():
    w, _ = audit("arg_cache")
    k = w["args[1].layers[0].keys"]
    assert (k.kind, k.calls, k.read_later) == ("rebind", "every", True)
    assert k.where.endswith(marker("layer keys"))


def test_a_weight_every_call_writes_before_it_reads_is_no_hazard():
    w, _ = audit("prehook_weight")
    (k,) = w.values()
    assert (k.path, k.kind, k.calls, k.read_later, k.reads) == \
        ("weight", "rebind", "every", False, "own")
    assert k.where.endswith(marker("prehook weight"))
    assert effect(k.to_json()) == "none: every call writes it before it reads it"


def test_state_a_hook_object_keeps_is_named():
    w, _ = audit("hooked_block")
    step = w["_hook_registry.hooks['skip'].step"]
    cached = w["_hook_registry.hooks['skip'].cached"]
    assert (step.kind, step.calls, step.changed) == ("value", "every", "every")
    assert step.where.endswith(marker("hook step"))
    assert (cached.kind, cached.calls, cached.tensor) == ("rebind", "every", True)
    assert cached.where.endswith(marker("hook cached"))


def test_a_list_growing_every_call_is_one_every_call_write_with_no_warm_up():
    w, a = audit("input_observer")
    assert set(w) == {"inputs"}
    k = w["inputs"]
    assert (k.kind, k.calls, k.changed, k.tensor) == ("append", "every", "every", True)
    assert k.where.endswith(marker("observer append"))
    assert a.warmup == 0
    assert "no warm-up ends it" in effect(k.to_json())


def test_writes_through_data_are_seen_on_float_and_bool_buffers():
    w, a = audit("codebook")
    assert (w["embed"].kind, w["embed"].calls) == ("inplace", "first")
    assert (w["initted"].kind, w["initted"].calls, w["initted"].changed) == \
        ("inplace", "first", "first")
    assert w["embed"].where.endswith(marker("codebook embed"))
    assert w["initted"].where.endswith(marker("codebook initted"))
    assert a.warmup == 1


def test_a_config_object_written_every_call_is_named():
    w, _ = audit("configured")
    k = w["config._attn_implementation"]
    assert (k.kind, k.calls, k.changed) == ("value", "every", "first")
    assert k.where.endswith(marker("config attn"))


def test_slots_cycles_and_a_data_assignment():
    class Slotted:
        __slots__ = ("t", "me")

    class Holder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.obj = Slotted()
            self.obj.t = torch.zeros(3)
            self.obj.me = self.obj  # a cycle
            self.register_buffer("b", torch.zeros(2))

    m = Holder()
    before = walk(m, data=True)
    assert "obj.t" in before and "obj.me" in before
    m.b.data = torch.ones(2)  # a new storage, the version counter unmoved
    from compilecheck.observe.statediff import diff

    assert [(c.path, c.kind) for c in diff(before, walk(m, data=True))] == [("b", "inplace")]
    cp = Checkpoint(m)
    m.obj.t = torch.ones(3)
    cp.restore()  # a slot put back
    assert float(m.obj.t.sum()) == 0.0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name, mode in (("cache_object", "reduce-overhead"), ("prehook_weight", "reduce-overhead"),
                       ("hooked_block", "default")):
        out[name] = run_cli(["diagnose", "--device", "cpu", "--probe", f"{MORE}:{name}",
                             "--mode", mode, "--call-pattern", "loop"],
                            tmp_path_factory.mktemp(name))
    return out


def _findings(run, cls):
    return [f for c in run.report["cells"] for f in c["findings"] if f["class"] == cls]


def test_the_cache_object_predicts_the_overwrite_and_keeps_compile_on(runs):
    run = runs["cache_object"]
    found = [f for f in _findings(run, "state_mutation") if f.get("predicts") ==
             "cudagraph_overwrite"]
    assert found and "cache.layers[0].keys" in found[0]["detail"]
    assert found[0]["where"].endswith(marker("layer keys"))
    rec = run.report["recommendation"]
    assert rec["name"] not in ("full-fix", "no-compile"), rec  # not the module as is
    assert rec["name"] == "no-cudagraphs"


def test_the_prehook_weight_runs_as_is(runs):
    run = runs["prehook_weight"]
    assert run.rc == 0, run.stdout + run.stderr
    assert not [f for f in _findings(run, "state_mutation")
                if f.get("predicts") == "cudagraph_overwrite"]
    assert run.report["recommendation"]["name"] == "full-fix"


def test_the_hooked_block_has_no_false_numeric_mismatch(runs):
    run = runs["hooked_block"]
    assert not _findings(run, "numeric_mismatch"), run.stdout
    compiled = [c for c in run.report["cells"] if c["mode"] != "eager"
                and c["status"] != "skip"]
    assert compiled and all(c["max_abs_err"] is not None and c["max_abs_err"] < 1e-4
                            for c in compiled)
    paths = {w["path"] for w in run.report["state_writes"]["hooked_block"]["writes"]}
    assert "_hook_registry.hooks['skip'].step" in paths
