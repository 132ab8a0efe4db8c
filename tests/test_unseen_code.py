"""Writes as the user's code makes them, and every recompile a cell measured in the report
(issue 26, points 3-5), on the patterns third-party code uses (tests/fixtures/unseen_code.py):
the state audit in process, then one real diagnosis of all of them (CPU, reduce-overhead: the
CUDA-graph cells predicted)."""
import pytest

import json

from conftest import FIXTURES, ROOT, cells, run_cli

UNSEEN = FIXTURES / "unseen_code.py"
NAMES = ("configured_block", "rank_change", "siblings", "observer", "kmeans_codebook",
         "hooked", "recurrent", "created_then_updated", "memory_module", "returns_cached")
GPU = ROOT / "tests/data/gpu/h200-torch2.11.0/unseen-release/h200-torch2.11.0-unseen.json"


def marker(text: str) -> str:
    for i, line in enumerate(UNSEEN.read_text().splitlines(), 1):
        if f"# WRITE {text}" in line:
            return f"unseen_code.py:{i}"
    raise AssertionError(text)


def audit(name):
    import sys

    sys.path.insert(0, str(FIXTURES))
    try:
        import unseen_code
    finally:
        sys.path.remove(str(FIXTURES))
    from compilecheck.observe.audit import run_audit
    from compilecheck.run.subject import step_inputs

    module, args = getattr(unseen_code, name)()
    steps = step_inputs(args, 4, 0)
    return run_audit(module, lambda i: steps[i % 4])


def test_a_property_write_is_one_write_of_the_public_name_at_the_users_line():
    a = audit("configured_block")
    (w,) = a.writes  # not two entries (the public name and the one the setter stores under)
    assert w.path == "config.attn_implementation"
    assert w.where.endswith(marker("config property"))
    assert (w.calls, w.changed) == ("every", "first")  # written and changed: two facts
    assert w.reads == "own"  # each call writes it before it reads it: no guard on it
    assert a.warmup == 0


def test_first_call_writes_a_later_call_depends_on_need_a_warm_up():
    a = audit("siblings")
    w = {x.path: x for x in a.writes}
    assert w["a._wt"].read_later and w["b._scale"].reads == "earlier"
    assert a.warmup == 1


def test_data_writes_on_the_first_call_are_seen_whatever_the_dtype():
    w = {x.path: x for x in audit("kmeans_codebook").writes}
    assert w["codebook"].kind == w["initted"].kind == "inplace"
    assert (w["codebook"].changed, w["initted"].changed) == ("first", "first")
    assert w["initted"].where.endswith(marker("initted data"))


def test_a_hook_objects_counters_are_named_by_the_hook():
    w = {x.path: x for x in audit("hooked").writes}
    assert w["0.forward_pre_hooks[StepHook].step"].changed == "every"
    assert w["0.forward_pre_hooks[StepHook].step"].where.endswith(marker("hook step"))
    assert "0.forward_pre_hooks[StepHook].last_norm" in w


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    args = ["diagnose", "--device", "cpu", "--mode", "reduce-overhead", "--call-pattern",
            "loop"]
    for n in NAMES:
        args += ["--probe", f"{UNSEEN}:{n}"]
    return run_cli(args, tmp_path_factory.mktemp("unseen"))


def target(run, name):
    (c,) = [c for c in cells(run.report, variant=name, role="matrix", cudagraphs="off")
            if c["mode"] == "reduce-overhead"]
    return c


def test_no_internal_error_and_every_measured_recompile_is_named(run):
    assert run.rc in (0, 1), run.stderr
    assert not [c for c in run.report["cells"] if c.get("traceback")]
    for c in run.report["cells"]:
        if not c.get("recompiles"):
            continue
        text = " ".join(f["detail"] for f in c["findings"])
        assert "recompiled" in text and "guard `" in text, (c["variant"], c["findings"])


def test_a_recompile_is_attached_to_the_write_its_guard_names(run):
    c = target(run, "rank_change")
    assert c["recompiles"] == 1
    (f,) = [f for f in c["findings"] if f.get("attribute") == "last"]
    assert "recompiled on call 2" in f["detail"] and "last" in f["detail"]
    assert not [f for f in c["findings"] if f["class"] == "recompile"]  # not twice


def test_siblings_of_one_pattern_are_reported_the_same_way(run):
    c = target(run, "siblings")
    by = {f.get("attribute"): f for f in c["findings"] if f["class"] == "state_mutation"}
    assert {"a._wt", "b._scale"} <= set(by)
    assert by["a._wt"]["where"].endswith(marker("cached tensor"))
    assert by["b._scale"]["where"].endswith(marker("cached number"))
    assert all("recompiled" in by[p]["detail"] for p in ("a._wt", "b._scale"))


def test_a_container_growing_every_call_is_a_finding_never_a_pass(run):
    c = target(run, "observer")
    assert c["status"] == "warn" and c["recompiles"] >= 2
    (f,) = [f for f in c["findings"] if f.get("attribute") == "seen"]
    assert "grows without bound" in f["detail"] and "recompile limit" in f["detail"]
    assert f["where"].endswith(marker("observer append"))


def test_a_property_written_with_the_same_value_costs_no_second_compile(run):
    c = target(run, "configured_block")
    assert c["status"] == "pass" and c["recompiles"] == 0
    warm = [x for x in cells(run.report, variant="configured_block", role="warm-up")]
    assert warm and all(x["status"] == "skip" for x in warm)  # not compiled again
    rung = {r["name"]: r for r in run.report["ladder"]}["warm-up"]
    assert rung["same_as"] == "full-fix" and "0 calls needed" in rung["why"]


def test_a_first_call_initialisation_through_data_is_reported(run):
    c = target(run, "kmeans_codebook")
    (f,) = [f for f in c["findings"] if f["class"] == "state_mutation"]
    assert "`codebook`" in f["detail"] and "`initted`" in f["detail"]
    assert "first call" in f["detail"] and f["where"].endswith(marker("codebook data"))


def test_a_classs_own_setattr_storing_elsewhere_is_the_public_write():
    (w,) = audit("memory_module").writes  # `v`, not the dict it is kept in
    assert w.path == "v" and w.where.endswith(marker("memory v"))
    assert w.read_later  # each call reads the tensor the call before stored


def test_a_list_held_by_two_objects_is_not_a_write():
    assert audit("handle_keeper").writes == []


def test_a_data_assignment_is_placed_at_its_own_line():
    w = {x.path: x for x in audit("data_assigned").writes}
    assert w["s"].where.endswith(marker("s data")) and w["s"].calls == "first"


def test_written_every_call_changed_once_is_two_facts():
    a = audit("static_cache")
    (w,) = a.writes
    assert (w.kind, w.calls, w.changed) == ("inplace", "every", "first")
    assert a.warmup == 0  # written every call anyway: a warm-up changes nothing


def test_created_on_the_first_call_then_written_in_place():
    a = audit("created_then_updated")
    (w,) = a.writes
    assert (w.first_kind, w.kind, w.stored) == ("create", "inplace", "first")
    assert w.read_later and a.warmup == 1


def test_a_stored_tensor_only_returned_again_is_no_read():
    """Returned to the caller, who copies it, it is not read by any replay: measured on the
    H200, no overwrite (tests/data/gpu/.../release-26)."""
    w = {x.path: x for x in audit("returns_cached").writes}
    assert not w["cache"].read_later


def test_a_window_rolled_in_place_changes_although_its_sum_does_not():
    (w,) = audit("rolled_window").writes
    assert (w.calls, w.changed) == ("every", "every")


def test_a_data_dependent_branch_is_a_graph_break_however_torch_counts_it(run):
    c = target(run, "kmeans_codebook")
    assert c["graph_breaks"] >= 1
    assert any(f["class"] == "graph_break" and "Data-dependent" in f["detail"]
               for f in c["findings"])


def test_a_module_dynamo_does_not_compile_predicts_no_cuda_graph_failure(run):
    c = target(run, "recurrent")
    assert c["graphs"] == 0
    (f,) = [f for f in c["findings"] if f["class"] == "graph_break"]
    assert "compiled no graph" in f["detail"] and "GRU" in f["detail"]
    assert not [f for f in c["findings"] if f["class"] == "state_mutation"]
    (on,) = [x for x in cells(run.report, variant="recurrent", role="matrix",
                              cudagraphs="on") if x["mode"] == "reduce-overhead"]
    assert on["predicted"] != "cudagraph_overwrite"


def test_a_tensor_created_in_the_compiled_call_then_updated_in_place_needs_the_warm_up(run):
    c = target(run, "created_then_updated")
    (f,) = [f for f in c["findings"] if f.get("attribute") == "pad"]
    assert f.get("predicts") == "cudagraph_overwrite" and "warm-up of 1" in f["detail"]
    # told as it happens: created once, then written in place (blind26's streaming conv)
    assert "creates in state (first call) and then writes in place" in f["detail"]
    assert "stored it on call 1 and wrote it in place on calls 2, 3" in f["detail"]


def test_a_module_recompiling_on_every_call_is_not_kept_compiled(tmp_path):
    run = run_cli(["diagnose", "--device", "cpu", "--mode", "reduce-overhead", "--call-pattern",
                   "loop", "--probe", f"{UNSEEN}:collecting"], tmp_path)
    c = target(run, "collecting")
    assert c["recompiles"] >= 3  # calls 2, 3, 4 each compiled again
    # it went on past its 4 planned calls (as long as those cost no more than the first
    # compile), and each of them compiled again too
    assert c["calls"] >= 5 and c["recompiles"] == c["calls"] - 1
    rungs = {r["name"]: r for r in run.report["ladder"]}
    assert "recompiled on every call" in rungs["full-fix"]["unfit"]
    rec = run.report["recommendation"]
    assert rec["name"] == "no-compile" and "recompiled on every call" in rec["summary"]
    assert "Take the state that changes out of forward" in rec["summary"]


def test_the_cpu_predictions_hold_on_the_h200(run):
    """Each probe's CUDA-graph cell, predicted here, against the same cell measured on an
    H200 (torch 2.11, reduce-overhead, CUDA graphs on): the overwrite error predicted exactly
    where it happened."""
    measured = {c["variant"]: c for c in json.loads(GPU.read_text())["cells"]
                if c["mode"] == "reduce-overhead" and c["cudagraphs"] == "on"
                and c["role"] == "matrix"}
    compared = 0
    for name in NAMES:
        (predicted,) = [c for c in cells(run.report, variant=name, role="matrix",
                                         cudagraphs="on") if c["mode"] == "reduce-overhead"]
        gpu = measured[name]
        overwrite = "cudagraph_overwrite" in [f["class"] for f in gpu["findings"]]
        assert (predicted["predicted"] == "cudagraph_overwrite") == overwrite, \
            (name, predicted["predicted"], gpu["status"], gpu["error"])
        compared += 1
    assert compared == len(NAMES)


def test_a_tensor_stored_again_is_still_the_value_an_earlier_call_made():
    w = {x.path: x for x in audit("restored_cache").writes}
    assert w["cache"].read_later  # the even calls compute from the odd calls' output


def test_one_piece_of_state_under_two_names_is_one_write():
    paths = [x.path for x in audit("tied_views").writes]
    assert paths == ["keys"]  # not `alias` too


def test_a_module_dynamo_makes_no_graph_of_is_not_worth_compiling(tmp_path):
    run = run_cli(["diagnose", "--device", "cpu", "--mode", "reduce-overhead", "--call-pattern",
                   "loop", "--probe", f"{UNSEEN}:recurrent"], tmp_path)
    rungs = {r["name"]: r for r in run.report["ladder"]}
    assert "compiled no graph" in rungs["full-fix"]["unfit"]
    rec = run.report["recommendation"]
    assert rec["name"] == "no-compile" and "GB0014" in rec["summary"]


def test_a_value_refreshed_every_other_call_names_those_calls():
    """A cache computed on odd calls and stored again on even ones: written on every call,
    changed on every other one, and the table says which (blind26's diffusers PAB hook)."""
    from compilecheck.report.writetable import write_rows

    (w,) = [w for w in audit("restored_cache").writes if w.path == "cache"]
    assert w.calls == "every" and w.changed_on[:3] == [1, 3, 5]
    (row,) = [r for r in write_rows([w.to_json()])]
    assert row[3] == "every 2nd call (1, 3, 5, ...)"


def test_a_difference_that_is_all_the_random_stream_is_measured_so(tmp_path):
    """A weight drawn at random on the first call, inside the compiled call: inductor's
    random stream is not eager's, so the output differs. The cell compiles the same calls
    again with fallback_random (inductor draws as eager does): the difference goes, so the
    finding is random_stream (a warning, the draw's line), not a numeric mismatch; the warm-up
    (the draw made eagerly) passes and wins."""
    run = run_cli(["diagnose", "--device", "cpu", "--mode", "default", "--call-pattern",
                   "loop", "--probe", f"{UNSEEN}:lazy_random_init"], tmp_path)
    (c,) = [c for c in cells(run.report, variant="lazy_random_init", role="matrix")
            if c["mode"] == "default"]
    assert "numeric_mismatch" not in [f["class"] for f in c["findings"]]
    (f,) = [f for f in c["findings"] if f["class"] == "random_stream"]
    assert f["where"].endswith(marker("random init"))
    assert "the graph draws (`rand` at" in f["detail"]
    assert "torch._inductor.config.fallback_random = True" in f["detail"]
    assert c["status"] == "warn" and c["max_abs_err"] > 0.1
    (warm,) = cells(run.report, variant="lazy_random_init", role="warm-up")
    assert warm["status"] == "pass"
    assert run.report["recommendation"]["name"] == "warm-up"


def test_a_difference_the_random_stream_does_not_explain_stays_a_mismatch():
    """The same detector where the check left a difference: a numeric mismatch that says so."""
    import dataclasses

    from compilecheck.classify.detectors import _detect_numeric_mismatch, _detect_random_stream

    obs = {"max_abs_err": 2.5, "tolerance": 0.01, "fallback_random_err": 2.4,
           "profile": {"random_ops": [{"op": "rand", "where": "m.py:3", "nodes": 1}]}}
    o = dataclasses.make_dataclass("O", ["obs"])(obs)
    (f,) = _detect_numeric_mismatch(o)
    assert f.cls == "numeric_mismatch" and "still differ by 2.4" in f.detail
    assert _detect_random_stream(o) == []


def test_a_dropout_the_graph_runs_in_eval_draws_nothing():
    """Which graph nodes draw random numbers, from torch's own tag on its aten ops: dropout in
    training and torch.rand do; the same dropout in eval does not."""
    import torch

    from compilecheck.observe.randomops import random_op

    seen = []

    def capture(gm, example_inputs):
        seen.append(sorted(filter(None, (random_op(n) for n in gm.graph.nodes))))
        return gm.forward

    def f(x, training):
        q = x.view(1, 1, 2, 2)
        att = torch.nn.functional.scaled_dot_product_attention(q, q, q)  # dropout_p 0
        return torch.nn.functional.dropout(x, 0.5, training) + torch.rand(4) + att.sum()

    torch._dynamo.reset()
    torch.compile(f, backend=capture)(torch.ones(4), True)
    torch.compile(f, backend=capture)(torch.ones(4), False)
    torch._dynamo.reset()
    assert seen[0] == ["dropout", "rand"]
    assert seen[-1] == ["rand"]


def test_recompiles_that_stop_are_no_reason_to_give_up_compiling(tmp_path):
    """Calls 2, 3 and 4 each compile again while a counter climbs to its cap; call 5 compiles
    nothing. The cell goes on past its 4 planned calls to see that, and the module is no
    "recompiled on every call" case (blind31's TaylorSeer hook, whose step counter settles)."""
    run = run_cli(["diagnose", "--device", "cpu", "--mode", "default", "--call-pattern",
                   "loop", "--probe", f"{UNSEEN}:settling"], tmp_path)
    (c,) = [c for c in cells(run.report, variant="settling", role="matrix")
            if c["mode"] == "default"]
    assert c["recompiles"] == 3 and c["calls"] == 5
    rungs = {r["name"]: r for r in run.report["ladder"]}
    assert not rungs["full-fix"]["unfit"]
    assert run.report["recommendation"]["name"] != "no-compile"


def test_a_write_torchs_own_library_code_makes_is_placed_at_its_line():
    """spectral_norm's pre-hook (torch/nn/utils) updates u and v in place and rebinds the
    weight: each write at spectral_norm.py's own line, not at Module.__call__'s."""
    import torch

    from compilecheck.observe.audit import run_audit

    torch.manual_seed(0)
    module = torch.nn.utils.spectral_norm(torch.nn.Linear(16, 8))
    x = [torch.randn(4, 16) for _ in range(4)]
    w = {w.path: w for w in run_audit(module, lambda i: (x[i % 4],)).writes}
    for path in ("weight_u", "weight_v", "weight"):
        assert "/nn/utils/spectral_norm.py:" in w[path].where, (path, w[path].where)


def test_the_audit_leaves_no_trace_in_a_librarys_shared_objects():
    """The audit watches the lists and dicts a module holds through recording copies; those
    must not outlive it. A recipe from a library's global cache is shared with the modules
    compiled later (blind32's x-transformers, through einops): dynamo cannot trace a list
    subclass as a list, and a copy left there made 14 graph breaks where torch makes none."""
    import sys

    import torch
    from torch._dynamo.utils import counters

    from compilecheck.observe.audit import run_audit

    sys.path.insert(0, str(FIXTURES))
    try:
        import unseen_code
    finally:
        sys.path.remove(str(FIXTURES))
    module, (x,) = unseen_code.cached_recipe()
    run_audit(module, lambda i: (x + i,))
    recipe = unseen_code._RECIPES["b t c -> b c t"]
    assert type(recipe.axes) is list and recipe.axes == [0, 2, 1]
    later, (x,) = unseen_code.cached_recipe()
    torch._dynamo.reset()
    counters.clear()
    torch.compile(later, backend="eager")(x)
    assert not counters["graph_break"] and counters["stats"]["unique_graphs"] == 1
    torch._dynamo.reset()
