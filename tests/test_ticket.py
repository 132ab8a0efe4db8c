"""diagnose --ticket: a folder a maintainer can act on. Each repro runs in a fresh process where
compilecheck cannot be imported (torch and its dependencies only) and reproduces the failure
the run found; the traces open in the real tlparse. Nothing mocked: the modules really fail
under torch.compile (tests/fixtures/ticket_probes.py)."""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch

from conftest import ROOT, TICKET_PROBES, run_cli

CLASSES = {"compile_error", "numeric_mismatch", "crash", "cudagraph_overwrite"}


def _top_levels(dist_name: str, seen: set) -> set:
    """(name, path) of the top-level packages of a distribution and of what it requires."""
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        return set()
    key = dist.metadata["Name"].lower()
    if key in seen:
        return set()
    seen.add(key)
    out = set()
    for f in dist.files or []:
        top = f.parts[0]
        if top not in ("..", "__pycache__") and not top.endswith((".dist-info", ".data")) \
                and not top.startswith(("__editable__", "_virtualenv")):
            out.add((top, Path(dist.locate_file(top))))
    for req in dist.requires or []:
        if "extra ==" not in req:
            out |= _top_levels(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0], seen)
    return out


@pytest.fixture(scope="module")
def torch_only(tmp_path_factory):
    """An environment where torch (and what it requires) imports and compilecheck does not:
    `python -S -s` with PYTHONPATH a folder of links to those packages only."""
    deps = tmp_path_factory.mktemp("torch-only")
    for name, path in _top_levels("torch", set()):
        if path.exists() and not (deps / name).exists():
            (deps / name).symlink_to(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COMPILECHECK"))}
    env["PYTHONPATH"] = str(deps)
    check = subprocess.run([sys.executable, "-S", "-s", "-c",
                            "import torch\ntry:\n import compilecheck\nexcept ImportError:\n"
                            " print('no compilecheck')"], env=env, capture_output=True,
                           text=True, cwd=str(deps))
    assert check.stdout.strip() == "no compilecheck", check.stderr[-2000:]
    return env


def run_repro(path: Path, env: dict, timeout: int = 600):
    p = subprocess.run([sys.executable, "-S", "-s", str(path)], env=env, cwd=str(path.parent),
                       capture_output=True, text=True, timeout=timeout)
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    return p.returncode, (lines[-1] if lines else ""), p


@pytest.fixture(scope="module")
def folder(ticket_run):
    run, ticket = ticket_run
    assert run.rc == 1, run.stderr[-3000:]
    return ticket


@pytest.fixture(scope="module")
def entries(folder):
    return {e["class"]: e for e in json.loads((folder / "report.json").read_text())["ticket"]}


def test_the_folder_holds_the_reports_a_repro_per_distinct_failure_and_a_readme(ticket_run,
                                                                             folder, entries):
    from compilecheck.report.schema import validate

    run, _ = ticket_run
    report = json.loads((folder / "report.json").read_text())
    assert validate(report) == []
    assert report["ticket"] == run.report["ticket"]  # the same report as --json wrote
    assert set(entries) == CLASSES
    assert (folder / "report.md").read_text().startswith("## compilecheck: FAIL")
    readme = (folder / "README.md").read_text()
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(["README.md", "report.json", "report.md",
                            *(e["file"] for e in entries.values()),
                            *(t for e in entries.values() for t in e["traces"])])
    for name in files[:]:
        assert name == "README.md" or f"`{name}`" in readme, name
    for e in entries.values():
        assert f"`python {e['file']}`" in readme
        for t in e["traces"]:
            assert re.search(rf"`tlparse {re.escape(t)} -o \S+ --no-browser`", readme)
    # a prediction says so, and names the cell that needs CUDA graphs
    cg = entries["cudagraph_overwrite"]
    assert cg["predicted"] and "lazy_scale / reduce-overhead / CUDA graphs on" in cg["cell"]
    assert not entries["compile_error"]["predicted"]


@pytest.mark.parametrize("cls,code,line", [
    ("compile_error", 1, r"^reproduced: torch\._dynamo\.exc\.TorchRuntimeError: .*fake tensor"),
    ("numeric_mismatch", 1, r"^reproduced: compiled output differs from eager by [\d.e-]+ at "
                            r"call \d \(tolerance"),
    ("crash", 1, r"^reproduced: the process died \(signal SIGABRT\)$"),
    ("cudagraph_overwrite", 2, r"^cannot run here: the cell needs a CUDA device \(for CUDA "
                               r"graphs\)"),
])
def test_each_repro_reproduces_with_torch_alone(folder, entries, torch_only, cls, code, line):
    if cls == "cudagraph_overwrite" and torch.cuda.is_available():
        code, line = 1, r"^reproduced: .*accessing tensor output of CUDAGraphs that has been " \
                        r"overwritten"
    rc, last, p = run_repro(folder / entries[cls]["file"], torch_only)
    assert (rc, bool(re.search(line, last))) == (code, True), (last, p.stderr[-3000:])


def test_a_repro_header_says_where_it_came_from_and_what_compilecheck_found(ticket_run,
                                                                          folder, entries):
    text = (folder / entries["compile_error"]["file"]).read_text()
    head = " ".join(line.lstrip("# ") for line in text.split("from __future__")[0].splitlines())
    assert re.match(r"!/usr/bin/env python3 compilecheck ticket, repro \d: compile_error in "
                    r"layout_fallback / reduce-overhead / CUDA graphs off", head), head
    assert f"torch {torch.__version__}" in head and "device cpu" in head
    cell = next(c for c in ticket_run[0].report["cells"] if c["variant"] == "layout_fallback"
                and c["mode"] == "reduce-overhead" and c["role"] == "matrix"
                and c["cudagraphs"] == "off")
    finding = next(f for f in cell["findings"] if f["class"] == "compile_error")
    assert f"compile_error at {finding['where']}" in head and finding["where"]
    assert f"PROBE_FILE = {str(TICKET_PROBES)!r}" in text
    assert 'CELL = {' in text and "'mode': 'reduce-overhead'" in text
    ast.parse(text)


def test_the_repro_of_a_fixed_module_says_not_reproduced(folder, entries, torch_only, tmp_path):
    """The user fixes the module (keeps one weight layout) and runs the same repro."""
    fixed = tmp_path / "ticket_probes.py"
    text = TICKET_PROBES.read_text()
    assert "            return x @ self.w\n" in text
    fixed.write_text(text.replace("            return x @ self.w\n",
                                  "            return x @ self.w.t()\n"))
    repro = tmp_path / "repro.py"
    repro.write_text((folder / entries["compile_error"]["file"]).read_text().replace(
        repr(str(TICKET_PROBES)), repr(str(fixed))))
    rc, last, p = run_repro(repro, torch_only)
    assert (rc, last.startswith("not reproduced here")) == (0, True), (last, p.stderr[-2000:])


def test_a_repro_without_its_module_cannot_run(folder, entries, torch_only, tmp_path):
    repro = tmp_path / "repro.py"
    repro.write_text((folder / entries["numeric_mismatch"]["file"]).read_text().replace(
        repr(str(TICKET_PROBES)), repr(str(tmp_path / "moved.py"))))
    rc, last, _ = run_repro(repro, torch_only)
    assert rc == 2 and last.startswith("cannot run here: building or warming up the module "
                                       "failed: builtins.FileNotFoundError"), last


def test_the_traces_open_in_tlparse(folder, entries, tmp_path):
    tlparse = shutil.which("tlparse") or (shutil.which("tlparse", path=os.path.dirname(
        sys.executable)))
    if not tlparse:
        pytest.skip("the tlparse binary is not installed (pip install tlparse: the test extra)")
    traced = [e for e in entries.values() if e["traces"]]
    # every failure that ran here has its trace; the crash's run died, its trace stops there
    assert {e["class"] for e in traced} == CLASSES
    for e in traced:
        out = tmp_path / e["file"]
        p = subprocess.run([tlparse, str(folder / e["traces"][0]), "-o", str(out),
                            "--no-browser"], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0 and (out / "index.html").exists(), p.stderr[-2000:]
        compiles = json.loads((out / "compile_directory.json").read_text())
        assert compiles, e["file"]  # at least one compile of the cell was traced
    failures = (tmp_path / entries["compile_error"]["file"] / "failures_and_restarts.html")
    assert "TorchRuntimeError" in failures.read_text()
    # the prediction's trace is its CUDA-graphs-off cell's: the recompile on the scale
    assert entries["cudagraph_overwrite"]["traced_cell"] == \
        "lazy_scale / reduce-overhead / no-cudagraphs"


def test_a_ticket_folder_that_is_not_empty_is_refused(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "x").write_text("")
    for folder, why in ((tmp_path / "old", "folder is not empty"),
                        (tmp_path / "no" / "such", "does not exist")):
        run = run_cli(["diagnose", "--ticket", str(folder)], tmp_path)
        assert run.rc == 2 and why in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_the_repro_runtime_imports_torch_and_the_standard_library_only():
    """A repro script carries run/standalone.py and run/replay.py: neither may need
    compilecheck (replay's one relative import is of standalone, which precedes it)."""
    for name in ("standalone", "replay"):
        tree = ast.parse((ROOT / "compilecheck" / "run" / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert name == "replay" and node.module == "standalone", ast.dump(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module]
                for m in mods:
                    assert m.split(".")[0] in sys.stdlib_module_names | {"torch"}, m


def _script_for(spec, folder: Path) -> Path:
    """A repro script for ``spec`` as the ticket writes it (the finding does not matter here)."""
    from compilecheck.report.repro import Failure, script
    from compilecheck.report.ticket import _copy_sources
    from compilecheck.vocab.results import CellResult

    cell = CellResult(spec.variant, spec.mode, "off", spec.device, None, None, "fail", [],
                      scope=spec.scope)
    f = Failure("numeric_mismatch", cell, spec, False, None, spec, spec.warmup, spec.iters)
    folder.mkdir(parents=True, exist_ok=True)
    _copy_sources(str(folder), [f])
    path = folder / f"repro-{f.slug}.py"
    path.write_text(script(f, 1, path.name, {"torch": torch.__version__}, "compilecheck", 60))
    return path


@pytest.mark.parametrize("kind", ["builtin", "policy-representative", "file"])
def test_a_repro_builds_and_warms_up_what_the_worker_does(kind, torch_only, tmp_path):
    """The script's build(), inputs and warm-up give the very outputs the worker's eager
    reference gives (same seed, same perturbed inputs, same representative's inputs)."""
    from compilecheck.plan.cells import representatives
    from compilecheck.plan.spec import CellSpec
    from compilecheck.probes import DuQuantConfig
    from compilecheck.run.cell import eager_reference

    config = tuple(sorted(DuQuantConfig().__dict__.items()))
    spec = {
        "builtin": CellSpec("deployed", "default", False, "cpu", config=config, warmup=1),
        "policy-representative": CellSpec(
            "policy-tiny-deployed", "default", False, "cpu", config=config,
            probe="policy:tiny:deployed", scope=representatives("tiny")[0], iters=3),
        "file": CellSpec("lazy_scale", "default", False, "cpu", seed=3,
                         probe=f"{TICKET_PROBES}:lazy_scale", warmup=2),
    }[kind]
    want = eager_reference(spec, spec.warmup)["outputs"]
    path = _script_for(spec, tmp_path / "ticket")
    saved = tmp_path / "outputs.pt"
    code = (f"import runpy, torch\ng = runpy.run_path({str(path)!r}, run_name='repro')\n"
            f"torch.save(g['eager_outputs'](g['CELL'], g['build']), {str(saved)!r})\n")
    p = subprocess.run([sys.executable, "-S", "-s", "-c", code], env=torch_only,
                       cwd=str(path.parent), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    got = torch.load(saved)
    assert len(got) == len(want) == spec.iters
    assert all(torch.equal(g, w) for g, w in zip(got, want))
