"""compilecheck diagnose --probe on modules that write their own state, as a new user runs
it: every written attribute with its line and calls, what torch.compile makes of it, and the
rung that keeps compile on (real compiles on CPU; CUDA graphs predicted)."""
import pytest

from conftest import FIXTURES, cells, run_cli

STATE = FIXTURES / "state_probes.py"


def marker(text: str) -> int:
    for i, line in enumerate(STATE.read_text().splitlines(), 1):
        if f"# WRITE {text}" in line:
            return i
    raise AssertionError(text)


RUNS = ("lazy_attr", "inplace_buffer", "cache_dict", "window_calibrated", "running_stats",
        "growing_cache", "lazy_linear")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name in RUNS:
        out[name] = run_cli(["diagnose", "--probe", f"{STATE}:{name}", "--mode",
                             "reduce-overhead", "--call-pattern", "loop"],
                            tmp_path_factory.mktemp(name))
    return out


def ladder(run):
    return {r["name"]: r for r in run.report["ladder"]}


def writes(run, name):
    return {w["path"]: w for w in run.report["state_writes"][name]["writes"]}


def line(w) -> int:
    return int(w["where"].rsplit(":", 1)[1])


@pytest.mark.parametrize("name,expected", [
    ("lazy_attr", {"scale": ("lazy_attr scale", "first")}),
    ("inplace_buffer", {"scale": ("inplace_buffer scale", "first"),
                        "ready": ("inplace_buffer ready", "first")}),
    ("cache_dict", {"_cache['w']": ("cache_dict entry", "first")}),
    ("window_calibrated", {"calib.seen": ("calibrator seen", "until 5"),
                           "scale": ("window scale", "until 5"),
                           "frozen": ("window frozen", "until 5")}),
])
def test_lazy_state_is_named_and_the_warm_up_rung_keeps_compile_on(runs, name, expected):
    run = runs[name]
    assert run.rc == 0, run.stderr  # warn is allowed
    w = writes(run, name)
    for path, (mark, calls) in expected.items():
        assert line(w[path]) == marker(mark), (path, w[path])
        assert w[path]["calls"] == calls
    rungs = ladder(run)
    assert rungs["full-fix"]["status"] == "warn"
    assert "state_mutation" in rungs["full-fix"]["why"]
    assert rungs["calibrated"]["status"] == rungs["abits16"]["status"] == "n/a"
    warm = [c for c in cells(run.report, role="warm-up") if c["status"] != "skip"]
    assert warm and warm[0]["status"] == "pass"
    assert warm[0]["graphs"] == 1 and warm[0]["recompiles"] == 0
    assert rungs["warm-up"]["status"] == "pass" and rungs["warm-up"]["same_as"] is None
    assert run.report["recommendation"]["name"] == "warm-up"
    k = run.report["state_writes"][name]["warmup"]
    assert warm[0]["warmup"] == k and f"{k} eager call(s)" in rungs["warm-up"]["settings"]
    assert "rung 1 (warm-up)" in run.stdout  # the first screen names the rung


def test_a_calibration_window_needs_its_whole_window(runs):
    run = runs["window_calibrated"]
    assert run.report["state_writes"]["window_calibrated"]["warmup"] == 5
    (cold,) = cells(run.report, variant="window_calibrated", cudagraphs="off", role="matrix",
                    pattern="loop")
    found = {f.get("attribute"): f for f in cold["findings"] if f["class"] == "state_mutation"}
    # the running max is stored and read by the next call: under CUDA graphs, overwritten
    assert found["calib.running"]["predicts"] == "cudagraph_overwrite"
    if cold["recompiles"] == 1:  # torch 2.7: the int became a dynamic input after one change
        assert "stopped guarding" in found["calib.seen"]["detail"]
    else:
        assert cold["recompiles"] >= 2  # the counter changes on each call of the window


def test_running_statistics_are_no_hazard(runs):
    run = runs["running_stats"]
    assert run.rc == 0
    w = writes(run, "running_stats")
    assert w["running_mean"]["calls"] == "every" and w["running_mean"]["kind"] == "inplace"
    compiled = [c for c in run.report["cells"] if c["mode"] != "eager"
                and c["status"] != "skip"]
    assert compiled and all(c["status"] == "pass" for c in compiled)
    assert all(c["max_abs_err"] < 1e-4 for c in compiled)  # same history, same numbers
    assert ladder(run)["warm-up"]["same_as"] == "full-fix"  # nothing to warm up
    assert run.report["recommendation"]["name"] == "full-fix"


def test_a_cache_grown_by_concatenation_is_not_kept_compiled(runs):
    """Each call reads the tensor the previous one stored (no warm-up removes that: under CUDA
    graphs, the overwrite), and the buffer's size guard fails on every call (a buffer is a
    static input: dynamo does not make its size dynamic), so every compiled rung recompiles
    on every call: compiled, it would compile until the recompile limit, then run eagerly."""
    run = runs["growing_cache"]
    w = writes(run, "growing_cache")["cache"]
    assert (w["calls"], w["read_later"]) == ("every", True)
    rungs = ladder(run)
    assert rungs["warm-up"]["same_as"] == "full-fix"
    assert "cudagraph_overwrite" in rungs["full-fix"]["why"]
    assert "recompiled on every call" in rungs["no-cudagraphs"]["unfit"]
    (target,) = [c for c in run.report["cells"] if c["role"] == "matrix"
                 and c["mode"] == "reduce-overhead" and c["status"] != "skip"]
    assert any("size mismatch" in f["detail"] for f in target["findings"])  # the guard
    rec = run.report["recommendation"]
    assert rec["name"] == "no-compile" and "recompiled on every call" in rec["summary"]


def test_torchs_lazy_linear_is_the_module_not_the_harness(runs):
    """LazyLinear initialises its parameters on its first call: the eager reference and the
    compiled copy get the same seed, so their outputs agree, and dynamo runs the
    initialisation before tracing (no hazard)."""
    run = runs["lazy_linear"]
    assert run.rc == 0, run.stdout + run.stderr
    assert all(w["lazy"] for w in writes(run, "lazy_linear").values())
    compiled = [c for c in run.report["cells"] if c["mode"] != "eager"
                and c["status"] != "skip"]
    assert compiled and all(c["status"] == "pass" for c in compiled), compiled
    assert run.report["recommendation"]["name"] == "full-fix"


def test_cpu_predictions_for_these_modules_held_on_the_h200(runs):
    """The same modules in reduce-overhead on an H200 (tests/data/gpu): what each CPU run
    predicted for CUDA graphs is what the GPU did, and the calibration window's warm-up of 5
    calls passed there with CUDA graphs."""
    import importlib.util
    import json

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("evidence_table",
                                                  ROOT / "scripts" / "evidence_table.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    gpu = json.loads((ROOT / "tests/data/gpu/h200-torch2.11.0/audit-release/"
                      "h200-torch2.11.0-state.json").read_text())
    compared = {}
    for name, run in runs.items():
        for cell, mode, predicted, measured in table.rows(run.report, gpu):
            assert predicted == measured, (cell, predicted, measured)
            compared[cell] = measured
    assert compared["lazy_attr"] == compared["cache_dict"] == compared["growing_cache"] == \
        "cudagraph_overwrite"
    assert compared["running_stats"] == compared["lazy_linear"] == "pass"
    assert compared["inplace_buffer"] == "warn"  # a buffer written in place: allowed
    assert compared["window_calibrated [warm-up]"] == "pass"
