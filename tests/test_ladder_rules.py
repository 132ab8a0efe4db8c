"""The recommendation's rules (docs/ladder.md), each on real reports: the H200 runs kept in
tests/data/gpu (the first release's, judged again by today's rules, and this release's), with
the one change each case needs said in its test."""
import copy
import dataclasses

import pytest

from compilecheck.decide.recommend import recommend
from compilecheck.report.report import Report

from conftest import ROOT

GPU = ROOT / "tests" / "data" / "gpu" / "h200-torch2.11.0"


def ladder(path):
    rep = Report.load(str(GPU / path))
    return rep, copy.deepcopy(rep.ladder)


def pick(rungs, mode="max-autotune"):
    return recommend(rungs, mode, True)


def set_rung(rungs, name, **changes):
    for i, r in enumerate(rungs):
        if r.name == name:
            rungs[i] = dataclasses.replace(r, **changes)
    return rungs


TINY = "audit-release/h200-torch2.11.0-tiny.json"


def test_numerics_first_the_gemma_300m_case():
    """Rule 3. The first release recommended abits16 (1.44x) over calibrated (1.03x, passed
    with CUDA graphs on the H200): judged again, calibrated wins, whatever the speed."""
    rep, rungs = ladder("first-release/h200-torch2.11.0-gemma-300m.json")
    assert rep.recommendation["name"] == "abits16"  # what it said then
    by = {r.name: r for r in rungs}
    assert by["abits16"].speedup > by["calibrated"].speedup
    rec = pick(rungs, rep.target_mode)
    assert rec["name"] == "calibrated"
    assert "changes the model's numerics" not in rec["summary"]


def test_numerics_changing_rung_says_what_it_gives_up():
    """Rule 3, second half: abits16 when it is the best left, with one line on what it gives
    up (the first release's gemma-300m report, calibrated taken to have failed)."""
    rep, rungs = ladder("first-release/h200-torch2.11.0-gemma-300m.json")
    set_rung(rungs, "calibrated", status="fail")
    rec = pick(rungs, rep.target_mode)
    assert rec["name"] == "abits16"
    assert "changes the model's numerics (weight-only quantisation" in rec["summary"]


def test_this_release_on_the_h200_picks_a_rung_that_keeps_cuda_graphs():
    """Rules 1, 2 and 7 on this release's H200 run: full-fix failed with the overwrite;
    calibrated and warm-up passed with CUDA graphs and overlap in speed: the smaller change to
    the user's code, a warm-up at the call site, wins over a calibration method in the layer
    (the saved report, made under the older rule "the lower rung", said calibrated)."""
    rep, rungs = ladder(TINY)
    by = {r.name: r for r in rungs}
    a, b = by["calibrated"].speedup_range, by["warm-up"].speedup_range
    assert a[0] <= b[1] and b[0] <= a[1]  # they overlap
    assert rep.recommendation["name"] == "calibrated"
    rec = pick(rungs)
    assert rec["name"] == "warm-up"
    assert "Do this: before compiling, 1 eager call(s) on the target device" in rec["summary"]


def test_a_faster_rung_whose_spread_does_not_overlap_wins():
    """Rule 7: the same H200 ladder with warm-up measured clearly slower: the code change
    (calibrated) is worth it only then."""
    _, rungs = ladder(TINY)
    set_rung(rungs, "warm-up", speedup=1.05, speedup_range=[1.0, 1.1])
    assert pick(rungs)["name"] == "calibrated"


def test_no_compile_only_when_no_compiled_rung_is_a_candidate():
    """Rules 1 and 2: with calibrated and warm-up failing, the no-cudagraphs rung warns (a
    first-call recompile; the overwrite it also names cannot happen without CUDA graphs): it is
    a candidate, so compile stays on."""
    _, rungs = ladder(TINY)
    set_rung(rungs, "calibrated", status="fail")
    set_rung(rungs, "warm-up", status="fail")
    rec = pick(rungs)
    assert rec["name"] == "no-cudagraphs"
    assert "passes with a warning" in rec["summary"]
    assert "max-autotune-no-cudagraphs" in rec["summary"]
    for r in rungs:
        if r.name not in ("no-compile",):
            set_rung(rungs, r.name, status="fail")
    assert pick(rungs)["name"] == "no-compile"


def test_a_warning_measured_absent_on_the_gpu_keeps_compile_on():
    """Rule 1: a rung that warned but whose CUDA-graphs cell ran clean on the GPU (the hazard
    measured absent) is a candidate, and outranks a rung without CUDA graphs (rule 5)."""
    _, rungs = ladder(TINY)
    set_rung(rungs, "calibrated", status="fail")
    set_rung(rungs, "warm-up", status="fail")
    set_rung(rungs, "full-fix", status="warn", speedup=1.6, speedup_range=[1.5, 1.7])
    rec = pick(rungs)
    assert rec["name"] == "full-fix"


def test_a_cpu_prediction_of_the_overwrite_is_no_candidate():
    """Rule 1, on a CPU: a warn whose prediction under CUDA graphs is the overwrite is not a
    candidate in a mode with CUDA graphs."""
    _, rungs = ladder(TINY)
    cpu = "measured on the CPU with CUDA graphs off; with CUDA graphs predicted: " \
          "cudagraph_overwrite"
    for name in ("calibrated", "warm-up", "no-cudagraphs"):
        set_rung(rungs, name, status="fail")
    set_rung(rungs, "full-fix", status="warn", basis=cpu, predicted="cudagraph_overwrite",
             speedup=1.6, speedup_range=[1.5, 1.7])
    assert pick(rungs)["name"] == "no-compile"


def test_clean_pass_beats_a_faster_warning():
    """Rule 4: no-cudagraphs made much faster but still warning: the clean passes win."""
    _, rungs = ladder(TINY)
    set_rung(rungs, "no-cudagraphs", speedup=5.0, speedup_range=[4.9, 5.1])
    assert pick(rungs)["name"] in ("calibrated", "warm-up")


def test_measured_with_cuda_graphs_beats_a_prediction():
    """Rule 5: calibrated only predicted (as on a CPU), warm-up measured on the GPU, their
    speeds overlapping: the measured one wins although it is the higher rung."""
    _, rungs = ladder(TINY)
    set_rung(rungs, "calibrated", basis="measured on the CPU with CUDA graphs off; with CUDA "
             "graphs predicted: pass", predicted="pass")
    assert pick(rungs)["name"] == "warm-up"


@pytest.mark.parametrize("full_fix_failed_to_compile", [False, True])
def test_suppress_errors_only_where_it_rescues_a_compile_failure(full_fix_failed_to_compile):
    """Rule 6, the case of a user's module warmed up on the H200: full-fix (1.59x) and
    suppress-errors (2.20x) compile the same code; suppress-errors is recommended only where
    full-fix failed to compile."""
    _, rungs = ladder(TINY)
    for name in ("calibrated", "warm-up", "no-cudagraphs"):
        set_rung(rungs, name, status="fail")
    set_rung(rungs, "full-fix", status="pass", speedup=1.59, speedup_range=[1.5, 1.7],
             why="passed in max-autotune.")
    set_rung(rungs, "suppress-errors", status="pass", speedup=2.2, speedup_range=[2.1, 2.3],
             same_as=None)
    if full_fix_failed_to_compile:
        set_rung(rungs, "full-fix", status="fail", speedup=None, speedup_range=None,
                 why="compile_error at x.py:3: BackendCompilerFailed (policy step 0).")
    assert pick(rungs)["name"] == ("suppress-errors" if full_fix_failed_to_compile
                                   else "full-fix")


def test_this_releases_state_run_recommends_the_warm_up():
    """The users' modules on the H200: the calibration window's ladder (no calibrated or
    abits16 rung for a user's module) recommends warm-up, measured with CUDA graphs; the
    suppress-errors rung was not run (nothing failed to compile) and is full-fix."""
    rep, rungs = ladder("audit-release/h200-torch2.11.0-state.json")
    by = {r.name: r for r in rungs}
    assert by["calibrated"].status == by["abits16"].status == "n/a"
    assert by["suppress-errors"].same_as == "full-fix"
    assert rep.recommendation["name"] == pick(rungs, rep.target_mode)["name"] == "warm-up"
    assert by["warm-up"].basis == "measured with CUDA graphs on the GPU"


def test_a_rung_that_ends_a_finding_beats_the_one_that_keeps_it():
    """Rule 4c, on a real report (blind26's normflows ActNorm, diagnosed on the CPU in
    default mode): as deployed it warned of a graph break and a first-call write; after a
    one-call warm-up, of the graph break alone. The warm-up wins over keeping the module as
    deployed, although it is the larger change and their speeds overlap."""
    rep = Report.load(str(ROOT / "tests/data/blind26/rescore/nf_actnorm/out.json"))
    rungs = {r.name: r for r in rep.ladder}
    assert set(rungs["warm-up"].warnings) < set(rungs["full-fix"].warnings)
    assert recommend(copy.deepcopy(rep.ladder), "default", False)["name"] == "warm-up"
    # the same ladder where the warm-up warned of something the module as deployed did not
    rungs = [dataclasses.replace(r, warnings=["graph_break", "recompile"])
             if r.name == "warm-up" else r for r in copy.deepcopy(rep.ladder)]
    assert recommend(rungs, "default", False)["name"] == "full-fix"
