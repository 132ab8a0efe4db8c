"""compilecheck diagnose end to end on CPU: real compiles of the tiny DuQuant probe."""
import json

import pytest

from compilecheck.report import Report
from compilecheck.schema import validate

from conftest import cells, probe, run_cli


def test_default_run_completes_with_a_warning_exit_code(default_run):
    assert default_run.rc == 0, default_run.stderr  # warn is allowed without --strict
    assert default_run.report is not None


def test_report_validates_against_the_schema(default_run):
    assert validate(default_run.report) == []
    assert default_run.report["schema"] == "compilecheck.report/1"


def test_matrix_covers_every_variant_mode_and_cudagraphs(default_run):
    rep = default_run.report
    import torch._inductor

    modes = torch._inductor.list_mode_options()
    for variant in ("lazy", "buffer-clone", "calibrated", "weight-only"):
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
    assert preds["lazy"] == preds["buffer-clone"] == "cudagraph_overwrite"
    assert preds["calibrated"] == preds["weight-only"] == "pass"


def test_ladder_and_recommendation(default_run):
    rep = default_run.report
    ladder = {r["name"]: r for r in rep["ladder"]}
    assert [r["rung"] for r in rep["ladder"]] == [0, 1, 2, 3, 4]
    assert rep["target_mode"] == "max-autotune"  # upstream openpi's default
    assert ladder["calibrated"]["status"] == "pass"
    assert ladder["full-fix"]["status"] == "warn"
    assert "clone" in ladder["full-fix"]["why"]  # says why the hand-written fix falls short
    assert ladder["suppress-errors"]["status"] == "warn"
    assert ladder["no-compile"]["status"] == "pass"
    assert ladder["no-compile"]["speedup"] == 1.0
    rec = rep["recommendation"]
    passed = [r for r in rep["ladder"] if r["status"] == "pass"]
    fastest = max(r["speedup"] for r in passed)
    # the fastest that passed; within 10% of it (timing noise), the lowest rung
    best = min((r for r in passed if r["speedup"] >= 0.9 * fastest), key=lambda r: r["rung"])
    assert rec["name"] == best["name"]
    assert f"{best['speedup']:.2f}x" in rec["summary"] and best["settings"] in rec["summary"]
    # the suppress-errors rung really ran in a worker with the variable set
    sup = cells(rep, role="suppress-errors")
    assert sup and all(c["status"] != "skip" for c in sup if c["cudagraphs"] == "off")


def test_printed_output_order_and_progress(default_run):
    out = default_run.stdout
    positions = [out.index(s) for s in ("variant", "Findings", "Environment knobs", "Ladder",
                                        "Recommendation:")]
    assert positions == sorted(positions)
    assert "cell(s) skip: CUDA graphs need a CUDA device" in default_run.stderr
    assert "/30] lazy / default" in default_run.stderr and "state_mutation" in default_run.stderr


def test_markdown_is_a_ticket(default_run):
    md = default_run.md_path.read_text()
    assert md.startswith("## compilecheck: WARN")
    assert md.index("**Recommendation:**") < md.index("### Findings") < md.index("<details")
    assert "_act_scale" in md


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
    assert len(rep["cells"]) == len({(c["variant"], c["mode"], c["cudagraphs"], c["role"])
                                     for c in rep["cells"]})
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
    from compilecheck.explain import explain_lines

    with open(default_run.log_path, encoding="utf-8", errors="replace") as f:
        result = explain_lines(f)
    found = {h.cls for h in result.findings}
    reported = {f["class"] for c in default_run.report["cells"] for f in c["findings"]}
    assert reported == {"state_mutation"}
    assert result.primary == "state_mutation" and "state_mutation" in found
    text = default_run.log_path.read_text(errors="replace")
    assert "_act_scale" in text and "compilecheck worker: cell lazy / default" in text


def test_published_schema_is_the_one_validated():
    from compilecheck.schema import REPORT_SCHEMA

    from conftest import ROOT

    assert json.loads((ROOT / "docs" / "report.schema.json").read_text()) == REPORT_SCHEMA
