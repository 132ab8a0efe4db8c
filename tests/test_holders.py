"""A user's own policy through --probe: what runs beyond the target mode (another mode, the
call patterns) runs on one module of each kind that holds the state forward writes, found by
the state audit; the target mode and the warm-up rung compile the whole policy."""
import json
import os
import subprocess
import sys

import torch

from conftest import FIXTURES, ROOT

PROBE = f"{FIXTURES / 'user_policy.py'}:policy"


def test_beyond_the_target_runs_on_one_holder_of_each_kind(tmp_path):
    out = tmp_path / "r.json"
    p = subprocess.run([sys.executable, "-m", "compilecheck", "diagnose", "--device", "cpu",
                        "--probe", PROBE, "--mode", "eager", "--mode", "default", "--mode",
                        "max-autotune-no-cudagraphs", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900,
                       env={**os.environ, "COLUMNS": "120"})
    assert p.returncode in (0, 1), p.stderr[-3000:]
    assert "on one module of each kind that holds forward's state" in p.stderr
    report = json.loads(out.read_text())
    cells = report["cells"]
    beyond = [c for c in cells if c["mode"] == "max-autotune-no-cudagraphs"
              and c["status"] != "skip"]
    # ScaledLinear 16->32 (prefix.up, expert.up) and 32->16 (prefix.down, expert.down)
    assert sorted(c["scope"] for c in beyond) == ["prefix.down", "prefix.up"]
    assert all(c["status"] in ("pass", "warn") for c in beyond), \
        [(c["scope"], c["status"], c.get("error")) for c in beyond]
    target = [c for c in cells if c["mode"] == "default" and c["status"] != "skip"]
    assert target and all(c["scope"] == "whole" for c in target)
    writes = report["state_writes"]["policy"]["writes"]
    scale = [w for w in writes if w["attribute"] == "scale"]
    assert scale and sorted(p for w in scale for p in w["instances"]) == \
        ["expert.down", "expert.up", "prefix.down", "prefix.up"]
    # the screen: one line for the write, whether a cell ran the whole or one holder
    lines = [ln for ln in p.stdout.splitlines() if "state_mutation at" in ln
             and "user_policy.py:16" in ln]
    assert len(lines) == 1 and "4 instances" in lines[0], lines


def test_the_policy_holders_are_its_layer_kinds_not_the_towers_around_them():
    """The language model and the expert hold a config that forward writes, and hold the
    DuQuant layers that write theirs: the layers are the holders, one per (in, out)."""
    sys.path.insert(0, str(ROOT))
    from compilecheck import probes
    from compilecheck.observe.audit import run_audit

    module, args = probes.build_policy("tiny", "deployed")
    holders = run_audit(module, lambda i: args, lambda: None).holders
    assert {h["class"] for h in holders} == {"DeployedDuQuantLinear"}
    kinds = {(i, o) for _, i, o in probes.policy.policy_targets("tiny")}
    assert len(holders) == len(kinds)
    assert sum(h["instances"] for h in holders) == len(probes.policy.policy_targets("tiny"))


def test_a_representative_that_cannot_run_alone_is_skipped_not_failed():
    """The expert tower is run through ``.forward(...)`` by its parent, not called: no
    inputs reach it alone. Its cell says so and is skipped; nothing of the module failed."""
    import dataclasses

    from compilecheck.classify.cells import classify
    from compilecheck.plan.cells import plan
    from compilecheck.plan.options import diagnose_options
    from compilecheck.run.cell import run_cell
    from compilecheck.run.pool import RawResult

    o = diagnose_options("cpu", (), ("eager", "reduce-overhead", "max-autotune-no-cudagraphs"),
                         "both", "tiny", None, None, None, None, None, 4, 600, None, 0, (),
                         False, (), "tiny")
    rep = next(c for c in plan(o).cells if c.scope != "whole")
    tower = dataclasses.replace(rep, scope="paligemma_with_expert.gemma_expert.model")
    obs = run_cell(tower)
    assert obs["skip"].startswith("paligemma_with_expert.gemma_expert.model.forward is called "
                                  "directly (not through the module's __call__)")
    cell = classify(RawResult(tower, "ok", obs))
    assert cell.status == "skip" and "gemma_expert.model" in cell.error


def test_a_holder_of_torchs_own_class_stands_for_the_users_module_above_it():
    """dynamo does not trace torch's own classes compiled alone (an observer as the first
    frame graph-breaks: "marked as skipped"): the user's block holding the observer is the
    representative; the observer in torch's Sequential has no user module above it but the
    root, so nothing smaller than the whole answers for it."""
    sys.path.insert(0, str(FIXTURES))
    import user_policy
    from compilecheck.observe.audit import run_audit

    module, args = user_policy.observed()
    holders = run_audit(module, lambda i: args, lambda: None).holders
    assert holders == []  # plain.1 (a MinMaxObserver under a Sequential) -> the root

    module.plain = torch.nn.Identity()
    holders = run_audit(module, lambda i: args, lambda: None).holders
    assert holders == [{"path": "user.0", "class": "ObservedBlock", "instances": 2}]
