"""The whole policy, as a user runs it: `compilecheck diagnose --device cpu --policy tiny`, one
real run shared by the tests (real compiles of the pi0-shaped sampling function)."""
import json
import os
import re
import subprocess
import sys

import pytest

from compilecheck import probes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def policy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("policy")
    env = dict(os.environ, COLUMNS="120")
    p = subprocess.run(
        [sys.executable, "-m", "compilecheck", "diagnose", "--device", "cpu", "--policy", "tiny",
         "--quiet", "--json", str(out / "r.json"), "--markdown", str(out / "r.md")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode in (0, 1), p.stderr[-3000:]
    return p, json.loads((out / "r.json").read_text()), (out / "r.md").read_text()


def _findings(report):
    return [f for c in report["cells"] for f in c["findings"]]


def test_the_first_screen_fits_50_lines_of_120_columns(policy_run):
    p, _, _ = policy_run
    lines = p.stdout.rstrip("\n").split("\n")
    assert len(lines) <= 50, len(lines)
    assert max(len(x) for x in lines) <= 120
    assert lines[0].startswith("compilecheck: ")
    assert any(x.startswith("Recommendation: ") for x in lines)
    assert any("Do this:" in x for x in lines)


def test_act_scale_is_one_finding_with_every_instance(policy_run):
    _, report, md = policy_run
    n_layers = len(probes.policy.policy_targets("tiny"))
    writes = report["state_writes"]["policy-tiny-deployed"]["writes"]
    act = [w for w in writes if w["attribute"] == "_act_scale"]
    assert len(act) == 1, [w["path"] for w in act]
    assert len(act[0]["instances"]) == n_layers
    assert act[0]["owner"] == "DeployedDuQuantLinear"
    overwrite = [f for f in _findings(report) if f.get("predicts") == "cudagraph_overwrite"
                 and "_act_scale" in f["detail"]]
    assert overwrite and all(len(f["instances"]) == n_layers for f in overwrite)
    # one line on the first screen, with the instance count
    p, _, _ = policy_run
    lines = p.stdout.splitlines()
    shown = [i for i, x in enumerate(lines) if "`_act_scale` of " in x]
    assert len(shown) == 1  # one finding, not one per layer
    assert f"{n_layers} DeployedDuQuantLinear modules" in lines[shown[0]]
    assert f"{n_layers} instances" in lines[shown[0] - 1]


def test_the_denoise_loop_is_named_with_its_line_and_its_ten_traces(policy_run):
    """The repeated region, in the compile profile of the whole policy as deployed: the
    method a user can compile, its ten traces, the loop's line and the line to paste; the
    slow_compile finding names it where the compile costs enough (slowcompile's rule: seconds
    at the target, here the CPU's, which a warm cache shortens)."""
    _, report, md = policy_run
    src = open(os.path.join(ROOT, "probes", "policy_model.py")).read().splitlines()
    loop_call = next(i + 1 for i, line in enumerate(src) if "v_t = self.denoise_step(" in line)
    (cold,) = [c for c in report["cells"] if c["role"] == "matrix" and c["compile_profile"]]
    region = cold["compile_profile"]["repeated_region"]
    assert region["region"] == "PI0Policy.denoise_step()" and region["calls"] == 10
    assert region["call_site"].endswith(f"policy_model.py:{loop_call}")
    assert region["share"] >= 0.5  # the expert over 10 steps is most of the graph
    assert region["compile_line"] == ("model.denoise_step = torch.compile(model.denoise_step,"
                                      " mode='reduce-overhead')")
    assert "repeated region: `PI0Policy.denoise_step()` traced 10 times" in md
    # each cell's finding gives that cell's share (a warm-up rung's graph, without the
    # one-time work, has the loop make more of it than the cold cell's)
    for c in report["cells"]:
        for f in (f for f in c["findings"] if f["class"] == "slow_compile"):
            assert f["detail"].split(" traced ")[0] == "PI0Policy.denoise_step()"
            assert "traced 10 times" in f["detail"] and region["compile_line"] in f["detail"]
            assert f["where"].endswith(f"policy_model.py:{loop_call}")
            share = int(re.search(r"made (\d+)% of the", f["detail"]).group(1))
            assert share == round(100 * c["compile_profile"]["repeated_region"]["share"])


def test_the_whole_policys_cells_were_timed_from_its_estimate(policy_run):
    """No --timeout: one layer was compiled alone first, and the estimate of the whole
    policy's compile gave its cells their time (enough: none ran out)."""
    _, report, _ = policy_run
    sizing = report["estimate"]["sizing"]
    paths = {p for p, _, _ in probes.policy.policy_targets("tiny")}
    assert sizing["layer"] in paths and sizing["layer_compile_s"] > 0
    assert sizing["estimate_s"] > 0 and sizing["timeout_s"] >= 300
    assert sizing["sites"] == probes.POLICY_SIZES["tiny"].layer_calls
    assert any(n.startswith(f"Each whole-policy cell was given {sizing['timeout_s']:.0f} s")
               for n in report["estimate"]["notes"])
    assert not [f for f in _findings(report) if f["class"] == "timeout"]


@pytest.mark.slow
def test_two_runs_agree(policy_run, tmp_path):
    """The same policy diagnosed again on the same machine (its inductor cache now warm, its
    speeds different): the same recommendation."""
    _, first, _ = policy_run
    p = subprocess.run(
        [sys.executable, "-m", "compilecheck", "diagnose", "--device", "cpu", "--policy", "tiny",
         "--quiet", "--json", str(tmp_path / "r.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert p.returncode in (0, 1), p.stderr[-3000:]
    second = json.loads((tmp_path / "r.json").read_text())
    assert second["recommendation"]["name"] == first["recommendation"]["name"] == "warm-up"
    do = [r["recommendation"]["summary"].partition(" Do this: ")[2] for r in (first, second)]
    assert do[0] == do[1]


def test_details_and_markdown_keep_the_tables(policy_run):
    _, report, md = policy_run
    assert "### Ladder" in md and "All cells" in md and "### What forward writes" in md
    assert report["recommendation"]["name"]


def test_modes_beyond_the_target_run_on_one_representative_per_distinct_layer():
    """--policy with a second compiled mode: the whole policy is compiled only where only the
    whole answers (as deployed in the target mode, and the warm-up rung); the other mode runs
    on one instance of each distinct (class, in, out), with the inputs the policy gives it."""
    from compilecheck.plan.cells import plan
    from compilecheck.plan.options import diagnose_options

    o = diagnose_options("cpu", (), ("eager", "reduce-overhead", "max-autotune-no-cudagraphs"),
                         "both", "tiny", None, None, None, None, None, 4, 600, None, 0, (),
                         False, (), "tiny")
    cells = [c for c in plan(o).cells if c.skip_reason is None]
    whole = [c for c in cells if c.scope == "whole" and c.mode != "eager"]
    assert {(c.mode, c.role) for c in whole} == {("reduce-overhead", "matrix"),
                                                 ("reduce-overhead", "warm-up")}
    reps = [c for c in cells if c.scope != "whole"]
    shapes = {(i, o_) for _, i, o_ in probes.policy.policy_targets("tiny")}
    assert len(reps) == len(shapes) and {c.mode for c in reps} == {"max-autotune-no-cudagraphs"}

    from compilecheck.observe.records import install_log_capture
    from compilecheck.run.cell import run_cell

    install_log_capture()
    rep = next(c for c in reps if "down_proj" in c.scope)  # 64 -> 32: one of a kind
    obs = run_cell(rep)  # a real compile of the representative, fed the policy's inputs
    assert obs.get("error") is None, obs.get("error")
    assert obs["compiled_ms"] and obs["max_abs_err"] < 1e-3
    assert any(w["attribute"] == "_act_scale" for w in obs["audit"]["writes"])
