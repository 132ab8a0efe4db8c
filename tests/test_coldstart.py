"""The cold-start rows, measured for real: each row a fresh process with its own (empty) cache
folders, on a small module of identical blocks called in a Python loop."""
import io

import pytest

from compilecheck.decide.coldstart import NOT_MEASURED
from compilecheck.diagnose import Progress, cold_start
from compilecheck.plan.options import OptionError, diagnose_options
from compilecheck.report.report import Report
from compilecheck.vocab.coldstart import NAMES

from conftest import FIXTURES

PROBE = f"{FIXTURES / 'coldstart_probe.py'}:blocks"
ENV = {"torch": "2.x", "python": "3.x", "platform": "linux", "device": "cpu", "gpu": None,
       "cuda": None, "driver": None, "variables": {}, "config": {}}
# nested-region and aot cost two more whole compiles (three processes): benchmarks/ and
# docs/performance.md have them; the test keeps to the rows each kind of process needs
ROWS = ("as-deployed", "warm-cache", "cache-artifacts", "regional")


def _options(**kw):
    args = dict(device="cpu", variants=(), modes=("default",), cudagraphs="off", shape="tiny",
                wbits=None, abits=None, block=None, act_pct=None, permute=None, iters=4,
                timeout=600.0, jobs=1, seed=0, probes=(PROBE,), strict=False)
    args.update(kw)
    return diagnose_options(**args)


@pytest.fixture(scope="module")
def measured():
    stream = io.StringIO()
    rows, rec = cold_start(_options(cold_start=True, calls=200), Progress(0, stream=stream),
                           own_temp=False, only=ROWS)  # the C++ headers precompiled once, not per row
    return {r["name"]: r for r in rows}, rec, stream.getvalue()


def test_every_row_is_measured_in_its_own_process(measured):
    rows, _, progress = measured
    assert tuple(rows) == ROWS and set(ROWS) <= set(NAMES)
    for name in ROWS:
        r = rows[name]
        assert r["measured"], (name, r.get("error"))
        assert r["compile_s"] > 0 and r["steady_ms"] > 0 and r["do_this"]
        assert r["spread"][0] <= r["steady_ms"] <= r["spread"][1]
        assert r["max_abs_err"] < 1e-4 and r["recompiles"] == 0
        assert f"cold start {name}:" in progress
    cold = rows["as-deployed"]
    assert cold["fxgraph_miss"] >= 1 and cold["fxgraph_hit"] == 0  # an empty cache folder
    assert rows["regional"]["region_class"] == "Block" and rows["regional"]["regions"] == 3
    for r in rows.values():  # a row torch lacks, or that failed, says why
        assert r["measured"] or r.get("error")


def test_a_second_process_hits_the_cache_the_first_left(measured):
    warm = measured[0]["warm-cache"]
    assert warm["fxgraph_hit"] >= 1 and warm["fxgraph_miss"] == 0
    assert warm["default_cache_dir"] and "default_in_temp" in warm


def test_cache_artifacts_fill_an_empty_folder(measured):
    mega = measured[0]["cache-artifacts"]
    assert mega["load_s"] is not None
    assert mega["fxgraph_hit"] >= 1 and mega["fxgraph_miss"] == 0


def test_the_recommendation_states_the_trade_in_numbers(measured):
    rows, rec, _ = measured
    assert rec["name"] in NAMES and rec["calls"] == 200
    best = rows[rec["name"]]
    assert best["same_numerics"]
    assert " Do this: " in rec["summary"]
    if rec["name"] != "as-deployed":
        assert f"first call {best['compile_s']:.1f} s instead of " \
               f"{rows['as-deployed']['compile_s']:.1f} s" in rec["summary"]
    assert all(r["episode_s"] >= best["episode_s"] * 0.98 for r in rows.values()
               if r.get("same_numerics"))


def test_the_report_carries_and_renders_the_rows(measured):
    rows, rec, _ = measured
    report = Report(dict(ENV), [], [], [],
                    {"rung": None, "name": None, "summary": "keep it. Do this: nothing"}, "default")
    report.cold_start, report.cold_start_recommendation = list(rows.values()), rec
    again = Report.from_dict(report.to_dict())
    assert again.cold_start == report.cold_start
    assert "Cold start (target mode default" in again.render("table")
    assert "### Cold start" in again.render("markdown")
    assert "Cold start: " in str(again) and "Cold start: Cold start" not in str(again)
    assert NOT_MEASURED not in str(again)


def test_without_the_flag_one_line_says_how_to_measure():
    d = Report(dict(ENV), [], [], [], {"rung": None, "name": None, "summary": "s"},
               "default").to_dict()
    del d["cold_start"], d["cold_start_recommendation"]  # a report from before them
    report = Report.from_dict(d)
    assert report.cold_start is None
    assert NOT_MEASURED.split(";")[0] in str(report)
    assert "--cold-start" in report.render("markdown")


def test_a_crash_costs_its_row_and_the_rows_that_read_it():
    from compilecheck.run.coldstart import measure, target_spec

    spec = target_spec(_options(probes=(f"{FIXTURES / 'user_probes.py'}:segfaults",)))
    crashed, skipped = measure(spec, 300, only=("as-deployed", "warm-cache"), own_temp=False)
    assert crashed["status"] == "crash" and "SIGSEGV" in crashed["error"]
    assert not crashed["measured"]
    assert skipped["status"] == "skip" and "as-deployed" in skipped["error"]


def test_calls_must_be_positive():
    with pytest.raises(OptionError, match="--calls 0"):
        _options(cold_start=True, calls=0)


def test_the_regional_row_compiles_the_region_the_compile_profile_named():
    """A method run 6 times per call (not a module): the target cell's compile profile names
    it, and the regional row compiles that method alone, in a fresh process."""
    from compilecheck.diagnose import repeated_region
    from compilecheck.observe.records import install_log_capture
    from compilecheck.plan.cells import plan
    from compilecheck.run.cell import run_cell
    from compilecheck.run.coldstart import measure, target_spec
    from compilecheck.run.pool import RawResult

    o = _options(probes=(f"{FIXTURES / 'coldstart_probe.py'}:denoiser",), modes=("default",))
    target = next(c for c in plan(o).cells if c.mode == "default" and c.role == "matrix")
    install_log_capture()
    region = repeated_region({target: RawResult(target, "ok", run_cell(target))}, "default")
    assert region and region["function"] == "denoise_step" and region["calls"] == 6
    (row,) = measure(target_spec(o), 300, only=("regional",), own_temp=False, region=region)
    assert row["measured"], row.get("error")
    assert (row["region_class"], row["region_function"], row["region_source"]) == \
        ("Denoiser.denoise_step", "denoise_step", "compile profile")
    assert row["max_abs_err"] < 1e-4 and row["graphs"] >= 1
    from compilecheck.decide.coldstart import decide

    rows, _ = decide([{"name": "as-deployed", "measured": False}, row], 100, "default")
    assert rows[1]["do_this"].startswith(
        "model.denoise_step = torch.compile(model.denoise_step, mode='default')")
