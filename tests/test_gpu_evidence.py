"""What real GPUs showed (tests/data/gpu, README there), held against this release: every
report loads and renders again, explain finds in the captured torch logs what the reports
found, and the CPU prediction matches the GPU's result cell by cell."""
import importlib.util
import json

import pytest

from compilecheck.explain.command import explain_lines
from compilecheck.report.report import Report
from compilecheck.report.schema import SCHEMAS, validate

from conftest import ROOT

GPU = ROOT / "tests" / "data" / "gpu"
REPORTS = sorted(GPU.glob("*/*/*.json"))
LOGGED = {"state_mutation", "recompile", "recompile_limit", "cudagraph_skipped", "graph_break"}


def _evidence_table():
    spec = importlib.util.spec_from_file_location("evidence_table",
                                                  ROOT / "scripts" / "evidence_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_evidence_is_there():
    assert len(REPORTS) >= 5
    assert {p.parent.name for p in REPORTS} == {"first-release", "audit-release",
                                                "unseen-release"}


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_gpu_report_loads_and_renders_again(path):
    raw = json.loads(path.read_text())
    assert raw["schema"] in SCHEMAS and validate(raw, SCHEMAS[raw["schema"]]) == []
    rep = Report.load(str(path))
    assert rep.environment["device"] == "cuda" and "H200" in rep.environment["gpu"]
    table, md = rep.render("table"), rep.render("markdown")
    assert table.startswith(f"compilecheck: {rep.verdict}") and "Recommendation:" in table
    assert md.startswith(f"## compilecheck: {rep.verdict}")
    again = json.loads(rep.render("json"))
    assert validate(again) == []  # a /1 report comes out as a valid /2 one
    assert [c["status"] for c in again["cells"]] == [c["status"] for c in raw["cells"]]
    assert [r["name"] for r in again["ladder"]] == [r["name"] for r in raw["ladder"]]
    # a /1 report's abits16 rung still says what it gives up
    assert all(r["keeps_numerics"] == (r["name"] != "abits16") for r in again["ladder"])


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_explain_finds_in_the_torch_log_what_the_report_found(path):
    raw = json.loads(path.read_text())
    log = path.with_suffix(".torch.log")
    if not log.exists():
        pytest.skip("this run kept its report, markdown and progress log, not torch's log")
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    found = {h.cls for h in explain_lines(text.splitlines(keepends=True)).findings}
    reported = {f["class"] for c in raw["cells"] for f in c["findings"]}
    expected = reported & LOGGED
    if "error at policy step" in text:  # this release's workers log each cell's error
        expected |= reported & {"cudagraph_overwrite", "runtime_error"}
    assert expected <= found, (expected - found)
    assert found, "explain found nothing in a log of failing cells"


def test_cpu_predictions_hold_on_the_h200(default_run):
    """The CPU run of this suite (tiny, every variant and mode) against both H200 runs of
    the same matrix: every cell with CUDA graphs, predicted on the CPU, measured there."""
    table = _evidence_table()
    compared = 0
    for path in GPU.glob("h200-*/*/*-tiny.json"):
        for cell, mode, predicted, measured in table.rows(default_run.report,
                                                          json.loads(path.read_text())):
            assert predicted == measured, (path.parent.name, cell, mode, predicted, measured)
            compared += 1
    assert compared >= 20  # 8 of the first release, the rest of this one


def test_the_gpu_says_what_the_ladder_should_pick():
    """On the H200 the layer as deployed fails, one eager call before compiling passes with
    CUDA graphs, and OPENPI_DUQUANT_ABITS=16 does not remove the overwrite (the fork still
    computes the activation scale in forward at 16 bits)."""
    rep = json.loads((GPU / "h200-torch2.11.0/audit-release/h200-torch2.11.0-tiny.json")
                     .read_text())
    ladder = {r["name"]: r for r in rep["ladder"]}
    assert ladder["full-fix"]["status"] == "fail" and "cudagraph_overwrite" in \
        ladder["full-fix"]["why"]
    assert ladder["warm-up"]["status"] == "pass"
    assert ladder["warm-up"]["basis"] == "measured with CUDA graphs on the GPU"
    assert ladder["abits16"]["status"] == "fail"
    assert rep["recommendation"]["name"] in ("calibrated", "warm-up")
    patterns = {c["pattern"]: c for c in rep["cells"] if c["role"] == "call-pattern"}
    assert [f["class"] for f in patterns["keep-outputs"]["findings"]] == \
        ["kept_output_overwritten"]
    assert "cudagraph_never_recorded" in [f["class"] for f in patterns["grad"]["findings"]]
    assert "cudagraph_threads" in [f["class"] for f in patterns["threads"]["findings"]]


def test_the_docs_table_is_the_evidence(default_run):
    """docs/failure-modes.md's side-by-side table says what the reports say: this suite's CPU
    prediction, and each H200 run's result in the column named after its folders."""
    table = _evidence_table()
    lines = [line for line in (ROOT / "docs" / "failure-modes.md").read_text().splitlines()
             if line.startswith("| ")]
    head = next(line for line in lines if line.startswith("| cell | mode | CPU prediction"))
    columns = [c.strip() for c in head.strip("|").split("|")]
    doc = {}
    for line in lines:
        row = [c.strip() for c in line.strip("|").split("|")]
        if len(row) == len(columns):
            doc[(row[0], row[1])] = row
    checked = 0
    for path in GPU.glob("h200-*/*/*-tiny.json"):
        col = columns.index(f"{path.parent.parent.name} ({path.parent.name})")
        for cell, mode, predicted, measured in table.rows(default_run.report,
                                                          json.loads(path.read_text())):
            assert doc[(cell, mode)][2] == predicted and doc[(cell, mode)][col] == measured
            checked += 1
    assert checked >= 20
