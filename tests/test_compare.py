"""compilecheck compare on real reports: torch 2.7.1 and 2.13 on this machine's CPU
(tests/data/fleet) beside the H200 run of torch 2.11 (tests/data/gpu), and a regression a
module really makes, gated on fresh runs."""
import dataclasses
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT, TICKET_PROBES, run_cli

FLEET = ROOT / "tests" / "data" / "fleet"
GPU = ROOT / "tests" / "data" / "gpu" / "h200-torch2.11.0"
PIN, NOW = FLEET / "cpu-torch2.7.1-tiny.json", FLEET / "cpu-torch2.13.0-tiny.json"
H200 = GPU / "audit-release" / "h200-torch2.11.0-tiny.json"
H200_V1 = GPU / "first-release" / "h200-torch2.11.0-tiny.json"


def compare(*args):
    p = subprocess.run([sys.executable, "-m", "compilecheck", "compare", *map(str, args)],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def fleet():
    rc, out, err = compare(PIN, NOW, H200, "--format", "json")
    assert rc == 0, err
    return json.loads(out)


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_each_column_is_headed_by_torch_device_gpu_and_date():
    rc, out, err = compare(PIN, NOW, H200)
    assert rc == 0 and not err
    head = out.split("Differences")[0]
    for line, want in ((" A ", ("torch 2.7.1+cu126", "cpu", "2026-12-04")),
                       (" B ", ("torch 2.13.0+cpu", "cpu", "2026-12-04")),
                       (" C ", ("torch 2.11.0+cu130", "cuda NVIDIA H200", "date not recorded"))):
        row = next(r for r in head.splitlines() if r.startswith(line.strip() + " "))
        assert all(w in row for w in want), row
    table = out.split("\n\n")[-1]
    assert "torch 2.7.1+cu126" in table.splitlines()[1] and "cuda NVIDIA H200" in \
        table.splitlines()[2]


def test_the_gpu_run_confirms_or_refutes_each_cpu_prediction(fleet):
    """Every CUDA-graph cell the CPU runs predicted, judged against what the H200 measured in
    the same cell (read here from the reports themselves)."""
    gpu = {(c["variant"], c["mode"], c["cudagraphs"], c["role"], c["pattern"]): c
           for c in _cells(H200) if c["status"] != "skip"}
    judged = 0
    for row in fleet["cells"]:
        cpu = row["reports"]["B"]
        if not (cpu and cpu["status"] == "skip" and cpu["predicted"]):
            continue
        cg = "on" if row["cudagraphs"] == "-" else row["cudagraphs"]
        measured = gpu.get((row["variant"], row["mode"], cg, row["role"], row["pattern"]))
        kinds = [d["kind"] for d in row["differences"] if d["kind"].startswith("prediction")]
        if measured is None:
            assert kinds == [], row
            continue
        classes = {f["class"] for f in measured["findings"]}
        held = cpu["predicted"] in classes or cpu["predicted"] == measured["status"]
        assert kinds == ["prediction confirmed" if held else "prediction refuted"], row
        judged += 1
    assert judged >= 14  # the variants, the rungs and the call patterns with CUDA graphs
    lazy = next(d["text"] for d in fleet["differences"]
                if d["cell"] == "lazy / reduce-overhead / cudagraphs on")
    assert lazy.startswith("A, B predicted cudagraph_overwrite; the GPU run C measured FAIL "
                           "cudagraph_overwrite")


def test_findings_that_went_between_torch_versions(fleet):
    """torch 2.7.1 breaks the graph at the calibration's torch.quantile; 2.13 does not."""
    pin = {(c["variant"], c["mode"], c["cudagraphs"], c["role"]): c for c in _cells(PIN)}
    now = {(c["variant"], c["mode"], c["cudagraphs"], c["role"]): c for c in _cells(NOW)}
    went = {d["cell"] for d in fleet["differences"]
            if d["kind"] == "findings" and d["text"].startswith("A -> B: went graph_break")}
    expected = set()
    for k, a in pin.items():
        b = now.get(k)
        if b and a["status"] != "skip" and b["status"] != "skip" and \
                "graph_break" in {f["class"] for f in a["findings"]} - \
                {f["class"] for f in b["findings"]}:
            expected.add(f"{k[0]} / {k[1]} / cudagraphs {k[2]}"
                         + (f" [rung {k[3]}]" if k[3] != "matrix" else ""))
    assert went == expected and "lazy / default / cudagraphs off" in went


def test_speeds_and_compile_times_that_moved_between_the_cpu_runs(fleet):
    """2.7.1 against 2.13 on the same CPU: a speed-up is reported moved exactly where the two
    runs' spreads do not meet, a first compile where it doubled (or halved) by 5 s or more;
    the H200 is another machine, never set against them."""
    pin = {(c["variant"], c["mode"], c["cudagraphs"], c["role"], c["pattern"]): c
           for c in _cells(PIN)}
    now = {(c["variant"], c["mode"], c["cudagraphs"], c["role"], c["pattern"]): c
           for c in _cells(NOW)}
    expect = {"speed": set(), "compile time": set()}
    for k, a in pin.items():
        b = now.get(k)
        if not b or "skip" in (a["status"], b["status"]):
            continue
        label = f"{k[0]} / {k[1]} / cudagraphs {k[2]}" + (
            f" [rung {k[3]}]" if k[3] not in ("matrix", "call-pattern") else "")
        ra, rb = a.get("speedup_range"), b.get("speedup_range")
        if ra and rb and (ra[1] < rb[0] or rb[1] < ra[0]):
            expect["speed"].add(label)
        ca, cb = a.get("compile_s"), b.get("compile_s")
        if ca and cb and abs(ca - cb) >= 5 and max(ca, cb) >= 2 * min(ca, cb):
            expect["compile time"].add(label)
    for kind, cells in expect.items():
        got = {d["cell"] for d in fleet["differences"] if d["kind"] == kind}
        assert got == cells, kind
        assert all(" in A -> " in d["text"] and d["text"].endswith(" in B")
                   for d in fleet["differences"] if d["kind"] == kind)
    assert expect["speed"] and expect["compile time"]  # these two runs do differ


def test_no_regression_in_the_fleet_exits_0(fleet):
    assert fleet["exit_code"] == 0 and fleet["regressions"] == 0
    assert [r["name"] for r in fleet["reports"]] == ["A", "B", "C"]
    # differences first: every row with a difference comes before every row without
    has = [bool(r["differences"]) for r in fleet["cells"]]
    assert has == sorted(has, reverse=True)


@pytest.fixture(scope="module")
def fixed_run(tmp_path_factory):
    """The same factory before the regression: one weight layout, no fallback."""
    tmp = tmp_path_factory.mktemp("fixed")
    text = TICKET_PROBES.read_text()
    assert "            return x @ self.w\n" in text
    (tmp / "ticket_probes.py").write_text(text.replace("            return x @ self.w\n",
                                                       "            return x @ self.w.t()\n"))
    run = run_cli(["diagnose", "--device", "cpu", "--probe",
                   f"{tmp / 'ticket_probes.py'}:layout_fallback", "--mode", "reduce-overhead",
                   "--call-pattern", "loop"], tmp)
    assert run.rc == 0, run.stderr[-3000:]
    return run


def test_a_cell_that_passed_and_now_fails_gates_with_exit_1(fixed_run, ticket_run):
    earlier, later = fixed_run.json_path, ticket_run[0].json_path
    rc, out, err = compare(earlier, later)
    assert rc == 1 and not err
    assert re.search(r"^  REGRESSION: layout_fallback / reduce-overhead / cudagraphs off: "
                     r"passed in A \(pass.*\), fails in B: FAIL compile_error",
                     out, re.M), out
    regressions = re.findall(r"^  REGRESSION: (.*?): ", out, re.M)
    # the matrix cell, and the rungs measured on the same module in the same mode
    assert regressions and all(r.startswith("layout_fallback / reduce-overhead / cudagraphs off")
                               for r in regressions), regressions
    assert f"{len(regressions)} regression(s)" in out.splitlines()[0]
    rc, out, _ = compare(later, earlier)  # the other way round: fixed
    assert rc == 0 and re.search(r"^  fixed: layout_fallback / reduce-overhead / cudagraphs off:"
                                 r" failed in A \(FAIL compile_error\), passes in B", out, re.M)


def test_a_report_of_schema_1_is_read():
    rc, out, err = compare(H200_V1, H200, "--format", "json")
    assert rc == 0, err
    data = json.loads(out)
    assert [r["schema"] for r in data["reports"]] == ["compilecheck.report/1",
                                                      "compilecheck.report/2"]
    row = next(r for r in data["cells"] if r["cell"] == "lazy / reduce-overhead / cudagraphs on")
    assert all(v["status"] == "fail" for v in row["reports"].values())


def test_markdown_for_a_job_summary():
    rc, out, _ = compare(PIN, NOW, H200, "--format", "markdown")
    assert rc == 0 and out.startswith("## compilecheck compare: 3 reports")
    assert "torch 2.11.0+cu130<br>cuda NVIDIA H200" in out
    assert "- **prediction confirmed** lazy / reduce-overhead / cudagraphs on" in out


@pytest.mark.parametrize("bad,why", [
    ("missing.json", "no such file"),
    ("notjson.txt", "not JSON"),
    ("other.json", "not a compilecheck report"),
])
def test_a_file_that_is_not_a_report_is_one_line_and_exit_2(tmp_path, bad, why):
    (tmp_path / "notjson.txt").write_text("hello")
    (tmp_path / "other.json").write_text('{"schema": "something/else"}')
    rc, out, err = compare(NOW, tmp_path / bad)
    assert rc == 2 and why in err and len(err.strip().splitlines()) == 1 and not out


def test_one_report_is_not_a_comparison():
    rc, _, err = compare(NOW)
    assert rc == 2 and "at least two reports" in err and len(err.strip().splitlines()) == 1


def test_speed_and_compile_time_move_only_beyond_their_noise():
    """The rules on two real cells (2.13's lazy / default, against itself with its figures
    moved): a speed-up whose spread does not meet the other's, a compile twice as long and 5 s
    longer; a move inside the spread, or a compile 4 s longer, is no difference."""
    from compilecheck.report.compare import Column, _pair
    from compilecheck.report.report import Report

    rep = Report.load(str(NOW))
    a = next(c for c in rep.cells if (c.variant, c.mode, c.role) == ("lazy", "default",
                                                                      "matrix"))
    col_a, col_b = Column("A", str(NOW), rep), Column("B", str(NOW), rep)
    lo, hi = a.speedup_range
    slower = dataclasses.replace(a, speedup=a.speedup / 3, speedup_range=[lo / 3, hi / 3 * 0.9])
    inside = dataclasses.replace(a, speedup_range=[(lo + hi) / 2, hi * 1.1])
    assert [k for k, _ in _pair(a, slower, col_a, col_b)] == ["speed"]
    assert _pair(a, inside, col_a, col_b) == []
    for moved, kinds in ((a.compile_s * 2 + 5, ["compile time"]), (a.compile_s + 4, [])):
        later = dataclasses.replace(a, compile_s=moved)
        assert [k for k, _ in _pair(a, later, col_a, col_b)] == kinds, moved
    other_machine = Report.load(str(H200))
    assert _pair(a, slower, col_a, Column("C", str(H200), other_machine)) == []


def test_the_ci_example_runs_commands_compilecheck_accepts():
    """docs/ci.md's workflow: valid YAML, and every compilecheck option it passes exists."""
    yaml = pytest.importorskip("yaml")
    from compilecheck.cli import main

    text = (ROOT / "docs" / "ci.md").read_text()
    flow = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    runs = [s["run"] for job in flow["jobs"].values() for s in job["steps"] if "run" in s]
    commands = [c for r in runs for c in re.findall(r"compilecheck (diagnose|compare)"
                                                    r"((?:[^\n]|\\\n)*)", r)]
    assert {c for c, _ in commands} == {"diagnose", "compare"}
    for name, args in commands:
        known = {o for p in main.commands[name].params for o in p.opts}
        for flag in re.findall(r"(--[\w-]+)", args):
            assert flag in known, (name, flag)


def test_compare_needs_no_torch():
    """The gate job of docs/ci.md installs compilecheck without torch."""
    import os

    code = ("import sys\nfrom compilecheck.cli import run\n"
            "try:\n    run(sys.argv[1:])\nexcept SystemExit as e:\n    print('EXIT', e.code)\n"
            "sys.stderr.write('TORCH_LOADED=%s' % ('torch' in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code, "compare", str(PIN), str(NOW)],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "TORCH_LOADED=False" in p.stderr and "EXIT 0" in p.stdout, p.stderr[-2000:]
