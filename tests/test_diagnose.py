"""compilecheck diagnose end to end on CPU: real compiles of the tiny DuQuant probe."""
import json
import re
from pathlib import Path

import pytest

from compilecheck.report.report import Report
from compilecheck.report.schema import validate

from conftest import ROOT, cells, probe, run_cli


def test_default_run_completes_with_a_warning_exit_code(default_run):
    assert default_run.rc == 0, default_run.stderr  # warn is allowed without --strict
    assert default_run.report is not None


def test_report_validates_against_the_schema(default_run):
    assert validate(default_run.report) == []
    assert default_run.report["schema"] == "compilecheck.report/2"


def test_matrix_covers_every_variant_mode_and_cudagraphs(default_run):
    rep = default_run.report
    import torch._inductor

    modes = torch._inductor.list_mode_options()
    for variant in ("lazy", "buffer-clone", "deployed", "calibrated", "weight-only"):
        assert cells(rep, variant=variant, mode="eager")
        for mode in ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"):
            assert cells(rep, variant=variant, mode=mode, cudagraphs="off", role="matrix")
            if modes[mode].get("triton.cudagraphs"):
                assert cells(rep, variant=variant, mode=mode, cudagraphs="on", role="matrix")


def test_lazy_and_buffer_clone_show_state_mutation_on_act_scale(default_run):
    for variant, line_text in (("lazy", "self._act_scale = self.compute_scale"),
                               ("buffer-clone", "self._act_scale = self.compute_scale(x_rot).clone()")):
        compiled = [c for c in cells(default_run.report, variant=variant, role="matrix")
                    if c["mode"] != "eager" and c["status"] != "skip"]
        assert compiled
        for c in compiled:
            assert c["status"] == "warn"
            found = [f for f in c["findings"] if f["class"] == "state_mutation"]
            assert found and "_act_scale" in found[0]["detail"]
            assert "overwritten" in found[0]["detail"]  # says what CUDA graphs make of it
            path, line = found[0]["where"].rsplit(":", 1)
            source = open(path if path.startswith("/") else
                          str(default_run.json_path.parent / path)).read().splitlines()
            assert line_text in source[int(line) - 1]  # the user's own assignment line
            assert c["recompiles"] == 1
            # the recompile is the state's, with its guard named (torch 2.7 writes a guard on
            # None or a bool as ___check_obj_id): no separate recompile finding, no `?`
            assert "recompile" not in {f["class"] for f in c["findings"]}
            assert not any("guard `?`" in f["detail"] for f in found)


def test_calibrated_and_weight_only_pass_with_zero_recompiles(default_run):
    for variant in ("calibrated", "weight-only"):
        compiled = [c for c in cells(default_run.report, variant=variant)
                    if c["mode"] != "eager" and c["status"] != "skip"]
        assert compiled
        for c in compiled:
            assert c["status"] == "pass", c
            assert c["recompiles"] == 0 and c["graphs"] == 1 and c["findings"] == []
            assert c["max_abs_err"] is not None and c["speedup"] and c["compiled_ms"]


def test_cudagraph_cells_skip_on_cpu_with_reason_and_prediction(default_run):
    on = cells(default_run.report, cudagraphs="on")
    assert on and all(c["status"] == "skip" for c in on)
    assert all("CUDA" in c["error"] for c in on)
    preds = {c["variant"]: c["predicted"] for c in on if c["role"] == "matrix"}
    assert preds["lazy"] == preds["buffer-clone"] == preds["deployed"] == "cudagraph_overwrite"
    assert preds["calibrated"] == preds["weight-only"] == "pass"


def test_deployed_layer_every_write_with_its_line(default_run):
    """The fork's forward as deployed: the audit names each write, the compiled cells say
    what each becomes, and one-time weight preparation is traced into the first graph."""
    rep = default_run.report
    writes = {w["path"]: w for w in rep["state_writes"]["deployed"]["writes"]}
    src = (ROOT / "probes" / "deployed.py").read_text().splitlines()
    for path, text in (("_act_scale", "self._act_scale = scale"),
                       ("_act_scale_initialized", "self._act_scale_initialized = True"),
                       ("calibrator._seen", "self._seen += 1"),
                       ("_W_t", "self._W_t.copy_(w_rot)"),
                       ("_cached_weight_key", "self._cached_weight_key = key"),
                       ("_R_in_cache_dict", "self._R_in_cache_dict = {}")):
        line = int(writes[path]["where"].rsplit(":", 1)[1])
        assert text in src[line - 1], (path, src[line - 1])
    assert rep["state_writes"]["deployed"]["warmup"] == 1
    (cold,) = cells(rep, variant="deployed", mode="default", role="matrix", pattern="loop")
    attrs = {f.get("attribute") for f in cold["findings"] if f["class"] == "state_mutation"}
    assert {"_act_scale", "_cached_weight_key", "_R_in_cache_dict"} <= attrs
    overwrite = [f for f in cold["findings"] if f.get("predicts") == "cudagraph_overwrite"]
    assert [f["attribute"] for f in overwrite] == ["_act_scale"]
    # the one-time weight preparation makes most of the graph, but the layer compiles in
    # seconds: not worth the user's time (slow_compile's rule, docs/failure-modes.md)
    assert cold["compile_s"] < 30
    assert not [f for f in cold["findings"] if f["class"] == "slow_compile"]
    assert cold["compile_profile"]["top_sources"][0]["function"] == \
        "_maybe_update_weight_cache"
    (warm,) = [c for c in cells(rep, role="warm-up") if c["status"] != "skip"]
    assert warm["status"] == "pass" and warm["graphs"] == 1 and warm["recompiles"] == 0
    assert warm["warmup"] == 1 and warm["findings"] == []
    assert warm["compile_profile"]["ops"] < cold["compile_profile"]["ops"]


def test_ladder_and_recommendation(default_run):
    rep = default_run.report
    ladder = {r["name"]: r for r in rep["ladder"]}
    assert [r["name"] for r in rep["ladder"]] == [
        "calibrated", "warm-up", "full-fix", "no-cudagraphs", "abits16", "suppress-errors",
        "no-compile"]
    assert [r["rung"] for r in rep["ladder"]] == list(range(7))
    assert rep["target_mode"] == "max-autotune"  # upstream openpi's default
    assert ladder["calibrated"]["status"] == ladder["warm-up"]["status"] == "pass"
    assert ladder["full-fix"]["status"] == "warn"
    assert "_act_scale" in ladder["full-fix"]["why"] and "cudagraph_overwrite" in \
        ladder["full-fix"]["why"]
    assert ladder["abits16"]["keeps_numerics"] is False
    assert all(r["keeps_numerics"] for n, r in ladder.items() if n != "abits16")
    # nothing failed to compile: the suppress-errors rung was not run, it is full-fix
    assert ladder["suppress-errors"]["same_as"] == "full-fix"
    assert not cells(rep, role="suppress-errors")
    assert "max-autotune-no-cudagraphs" in ladder["no-cudagraphs"]["settings"]
    assert "TORCH_CUDA_GRAPH_DISABLE" not in ladder["no-cudagraphs"]["settings"]
    assert ladder["no-compile"]["status"] == "pass"
    rec = rep["recommendation"]
    chosen = ladder[rec["name"]]
    assert chosen["status"] == "pass" and chosen["keeps_numerics"]
    assert "predicted" in chosen["basis"]  # on a CPU the CUDA-graph outcome is a prediction
    assert chosen["settings"] in rec["summary"]
    # among the clean, numerics-keeping passes predicted to keep CUDA graphs (on a CPU the
    # prediction ranks them above a rung that turns them off: rule 4b) as fast as the
    # fastest, the smallest change to the user's code (docs/ladder.md rule 7), then the
    # lowest rung
    from compilecheck.vocab.rungs import BY_NAME

    passes = [r for r in rep["ladder"] if r["status"] == "pass" and r["keeps_numerics"]
              and r["name"] != "no-compile" and not r.get("same_as")
              and BY_NAME[r["name"]].cudagraphs != "off"]
    fastest = max(passes, key=lambda r: r["speedup"])
    overlapping = [r for r in passes if r["speedup_range"][0] <= fastest["speedup_range"][1]
                   and fastest["speedup_range"][0] <= r["speedup_range"][1]]
    assert chosen["name"] == min(overlapping, key=lambda r: (BY_NAME[r["name"]].change,
                                                             r["rung"]))["name"]


def test_printed_output_order_and_progress(default_run, tmp_path):
    out = default_run.stdout  # the first screen: the answer, and no tables
    lines = out.rstrip("\n").split("\n")
    assert len(lines) <= 50 and max(map(len, lines)) <= 120
    positions = [out.index(s) for s in ("compilecheck: WARN", "Findings", "Recommendation:",
                                        "Do this:", "More: --details")]
    assert positions == sorted(positions)
    assert "Ladder" not in out and "State writes" not in out
    # --details (here: the same report re-rendered as the table) adds every table after it
    full = run_cli(["report", str(default_run.json_path), "--format", "table"], tmp_path).stdout
    assert full.startswith(lines[0])
    positions = [full.index(s) for s in ("Recommendation:", "Cells:", "State writes",
                                         "Findings (each once, with the cells", "Call patterns",
                                         "Environment knobs", "Ladder")]
    assert positions == sorted(positions)
    assert "cell(s) skip: CUDA graphs need a CUDA device" in default_run.stderr
    assert "] lazy / default" in default_run.stderr and "state_mutation" in default_run.stderr


def test_call_patterns_on_a_cpu(default_run):
    """grad is checked here (and reported as the hazard it is); keep-outputs and threads say
    what they would check on a GPU and why they cannot here."""
    rep = default_run.report
    pats = {c["pattern"]: c for c in cells(rep, role="call-pattern")}
    assert set(pats) == {"keep-outputs", "grad", "threads"}
    assert pats["grad"]["status"] == "warn"
    assert [f["class"] for f in pats["grad"]["findings"]] == ["cudagraph_never_recorded"]
    assert "predicted" in pats["grad"]["findings"][0]["detail"]
    for name in ("keep-outputs", "threads"):
        assert pats[name]["status"] == "skip"
        assert "CUDA" in pats[name]["error"] and "on a GPU this" in pats[name]["error"]
    assert "Call patterns" in default_run.md_path.read_text()


def test_markdown_is_a_ticket(default_run):
    md = default_run.md_path.read_text()
    assert md.startswith("## compilecheck: WARN")
    assert md.index("**Recommendation:**") < md.index("### Findings") < md.index("<details")
    assert "_act_scale" in md and "### What forward writes" in md
    assert "<summary>Compile profiles</summary>" in md


def test_report_rerenders(default_run, tmp_path):
    rep = Report.load(str(default_run.json_path))
    assert json.loads(rep.render("json")) == default_run.report
    assert "Recommendation:" in rep.render("table")
    r = run_cli(["report", str(default_run.json_path), "--format", "markdown"], tmp_path)
    assert r.rc == 0 and r.stdout.startswith("## compilecheck")


def test_misbehaving_modules_are_isolated(misbehaving_run):
    rep = misbehaving_run.report
    assert misbehaving_run.rc == 1  # failing cells
    by = {c["variant"]: c for c in rep["cells"] if c["role"] == "matrix"}

    def classes(name):
        return [f["class"] for f in by[name]["findings"]]

    assert by["mismatch"]["status"] == "fail" and "numeric_mismatch" in classes("mismatch")
    assert by["aborts"]["status"] == "fail" and classes("aborts") == ["crash"]
    assert "SIGABRT" in by["aborts"]["findings"][0]["detail"]
    assert "SIGSEGV" in by["segfaults"]["findings"][0]["detail"]
    assert classes("hangs") == ["timeout"]
    assert "oom" in classes("ooms")
    assert by["breaks"]["status"] == "warn" and classes("breaks") == ["graph_break"]
    assert by["breaks"]["graph_breaks"] >= 1
    assert "state_mutation" in classes("lazy_state")
    assert "scale" in by["lazy_state"]["findings"][0]["detail"]
    # cells after the crashes and the hang still ran: nothing lost, nothing twice
    assert by["clean"]["status"] == "pass"
    assert len(rep["cells"]) == len({(c["variant"], c["mode"], c["cudagraphs"], c["role"],
                                      c["pattern"]) for c in rep["cells"]})
    # target mode default has no CUDA graphs: the call patterns have nothing to check and
    # predict nothing
    pats = [c for c in rep["cells"] if c["role"] == "call-pattern"]
    assert pats and all(c["status"] == "skip" and c["predicted"] is None
                        and "runs without CUDA graphs" in c["error"] for c in pats)
    ladder = {r["name"]: r for r in rep["ladder"]}
    assert ladder["calibrated"]["status"] == ladder["abits16"]["status"] == "n/a"
    assert ladder["no-compile"]["status"] == "pass"
    assert rep["recommendation"]["name"] == "no-compile"


def test_strict_counts_warn_as_failure(tmp_path):
    r = run_cli(["diagnose", "--probe", probe("lazy_state"), "--mode", "default",
                 "--cudagraphs", "off", "--strict", "--quiet"], tmp_path)
    assert r.rc == 1
    assert "] " not in r.stderr  # --quiet: no progress


def test_probe_failing_in_eager_exits_3(tmp_path):
    r = run_cli(["diagnose", "--probe", probe("fails_eager"), "--mode", "eager", "--mode",
                 "default", "--cudagraphs", "off", "--quiet"], tmp_path)
    assert r.rc == 3, r.stderr
    assert "fails even in eager" in r.stderr
    assert r.report is not None  # the report is still written


def test_clean_module_exits_0(tmp_path):
    r = run_cli(["diagnose", "--probe", probe("clean"), "--mode", "default", "--cudagraphs",
                 "off", "--quiet", "--strict"], tmp_path)
    assert r.rc == 0, r.stdout + r.stderr


def _tables(md: str):
    """Every markdown table in ``md`` as a list of rows of cells (pipes escaped as \\| kept)."""
    import re

    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append([c for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
        elif current:
            tables.append(current)
            current = []
    return tables


def test_markdown_tables_are_well_formed(default_run):
    md = default_run.md_path.read_text()
    tables = _tables(md)
    assert len(tables) >= 3  # ladder, cells, environment
    for t in tables:
        assert len({len(row) for row in t}) == 1, t[0]  # every row as wide as the header
        assert set("".join(t[1])) <= set("-: ")  # the separator row
    # a folded block needs a blank line after its summary for markdown inside to render
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("<details"):
            assert lines[i + 1] == ""
    assert md.count("<details") == md.count("</details>")


def test_markdown_renders_with_python_markdown(default_run):
    markdown = pytest.importorskip("markdown")
    html = markdown.markdown(default_run.md_path.read_text(), extensions=["tables", "md_in_html"])
    assert html.count("<table>") == len(_tables(default_run.md_path.read_text()))
    assert "<h2>compilecheck: WARN</h2>" in html
    assert "|" not in "".join(line for line in html.splitlines() if line.startswith("<p>"))


def test_explain_on_the_run_log_finds_what_the_report_found(default_run):
    """The workers' log (--log) read back by explain: the same vocabulary, the same verdict."""
    from compilecheck.explain.command import explain_lines

    with open(default_run.log_path, encoding="utf-8", errors="replace") as f:
        result = explain_lines(f)
    found = {h.cls for h in result.findings}
    reported = {f["class"] for c in default_run.report["cells"] for f in c["findings"]}
    # what torch itself logs of it (the recompiles on module state); the grad prediction
    # comes from compilecheck's own measurements, not from torch's log
    expected = {"state_mutation", "cudagraph_never_recorded"}
    text = default_run.log_path.read_text(errors="replace")
    if "graph_break" in reported:
        # torch 2.7 cannot trace torch.quantile whole (its check of q is a data-dependent
        # aten.equal); later torch can. torch's own break, so every one the workers logged
        # is at a torch.quantile line of the probe
        at = re.findall(r"Graph break .*?in user code at (\S+):(\d+)", text)
        assert at and all("torch.quantile(" in Path(f).read_text().splitlines()[int(n) - 1]
                          for f, n in at), at
        expected.add("graph_break")
    assert reported == expected
    assert result.primary == "state_mutation" and "state_mutation" in found
    assert "_act_scale" in text and "compilecheck worker: cell lazy / default" in text


def test_published_schema_is_the_one_validated():
    from compilecheck.report.schema import REPORT_SCHEMA

    from conftest import ROOT

    assert json.loads((ROOT / "docs" / "report.schema.json").read_text()) == REPORT_SCHEMA
