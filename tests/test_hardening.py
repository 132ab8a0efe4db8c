"""Bad input, interruption and partial failure lose nothing (real processes and signals)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from compilecheck.env.files import write_atomic
from compilecheck.report.schema import validate

from conftest import ROOT, USER_PROBES, cells, probe, run_cli

P = str(USER_PROBES)


def one_line_exit_2(args, env=None, cwd=None, code=2):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([sys.executable, "-m", "compilecheck", *args], capture_output=True,
                       text=True, timeout=120, env=e, cwd=cwd)
    assert p.returncode == code, (args, p.stdout, p.stderr)
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith("compilecheck: error:")
    return lines[0]


BAD = [
    (["diagnose", "--mode", "turbo"], "turbo", "max-autotune"),
    (["diagnose", "--variant", "nope"], "nope", "buffer-clone"),
    (["diagnose", "--wbits", "99"], "--wbits 99", "2 to 16"),
    (["diagnose", "--abits", "1"], "--abits 1", "2 to 32"),
    (["diagnose", "--shape", "8x30"], "8x30", "TOKENSxINxOUT"),
    (["diagnose", "--shape", "8x30x32"], "IN=30", "block=16"),
    (["diagnose", "--iters", "2"], "--iters 2", "at least 3"),
    (["diagnose", "--timeout", "0"], "--timeout 0", "positive"),
    (["diagnose", "--jobs", "0"], "--jobs 0", "at least 1"),
    (["diagnose", "--cudagraphs", "maybe"], "maybe", "both"),
    (["diagnose", "--probe", "nofile.py:f"], "nofile.py", "no such file"),
    (["diagnose", "--probe", f"{P}:nothing"], "nothing", "no callable"),
    (["diagnose", "--probe", f"{P}:raises"], "raises", "factory exploded"),
    (["diagnose", "--probe", f"{P}:wrong_return"], "wrong_return", "(module, args)"),
    (["diagnose", "--probe", f"{P}:not_a_module"], "not_a_module", "torch.nn.Module"),
    (["diagnose", "--probe", "nosuchpkg.mod:f"], "nosuchpkg", "cannot import"),
    (["diagnose", "--probe", "justtext"], "justtext", "path/file.py:factory"),
    (["diagnose", "--json", "/nonexistent/dir/r.json"], "/nonexistent/dir", "does not exist"),
    (["diagnose", "--markdown", "/"], "/", "directory"),
    (["diagnose", "--device", "cuda"], "--device cuda", "no usable CUDA"),
    (["report", "/nonexistent.json"], "/nonexistent.json", "no such file"),
    (["report", "/etc/hostname"], "/etc/hostname", "not JSON"),
    (["explain", "/nonexistent.log"], "/nonexistent.log", "no such file"),
    (["nosuchcommand"], "nosuchcommand", "No such command"),
]


@pytest.mark.parametrize("args,what,accepted", BAD, ids=[" ".join(b[0])[:40] for b in BAD])
def test_bad_input_one_line_exit_2(args, what, accepted):
    if args[:3] == ["diagnose", "--device", "cuda"]:
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA is usable here")
    line = one_line_exit_2(args)
    assert what in line and accepted in line


def test_unwritable_report_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        line = one_line_exit_2(["diagnose", "--json", str(folder / "r.json")])
        assert "not writable" in line
    finally:
        folder.chmod(0o700)


def test_openpi_variable_that_does_not_parse():
    line = one_line_exit_2(["diagnose"], env={"OPENPI_DUQUANT_ABITS": "eight"})
    assert "OPENPI_DUQUANT_ABITS" in line and "integer" in line


@pytest.mark.parametrize("content,needle", [
    ('{"schema": "something/else"}', "not a compilecheck report"),
    ('{"cells": []}', "not a compilecheck report"),
    ('{"schema": "compilecheck.report/1", "cells": []}', "does not match its schema"),
    ('{"schema": "compilecheck.rep', "not JSON"),
    ("\x00\x01\x02", "not JSON"),
])
def test_report_refuses_foreign_and_corrupt_files(tmp_path, content, needle):
    p = tmp_path / "r.json"
    p.write_text(content)
    assert needle in one_line_exit_2(["report", str(p)])


def test_explain_refuses_binary(tmp_path):
    p = tmp_path / "core"
    p.write_bytes(os.urandom(4096) + b"\x00" * 64)
    assert "binary" in one_line_exit_2(["explain", str(p)])


def _workers(parent: int) -> set[str]:
    """The process groups of ``parent``'s compilecheck workers (each worker leads its own
    session: its children are in its group); other runs' workers on the machine aside."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines()
            if "compilecheck.run.worker" in line and line.split()[1] == str(parent)}


def _alive(groups: set[str]) -> set[str]:
    out = subprocess.run(["ps", "-eo", "pid,pgid"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines()[1:] if line.split()[1] in groups}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interruption_writes_the_report_and_stops_workers(tmp_path, sig):
    json_path = tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "compilecheck", "diagnose", "--probe", probe("clean"),
         "--probe", probe("hangs"), "--mode", "default", "--cudagraphs", "off", "--jobs", "1",
         "--timeout", "600", "--json", str(json_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.time() + 300
    seen = ""
    while time.time() < deadline:  # wait until the clean cell has finished
        line = proc.stderr.readline()
        seen += line
        if "clean / default / no-cudagraphs: pass" in line:  # the matrix cell, no rung's
            break
    else:
        proc.kill()
        pytest.fail("the clean cell never finished:\n" + seen)
    time.sleep(3)  # the hanging cell is now in flight
    workers = _workers(proc.pid)
    assert workers, "no worker of this run seen"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    rep = json.loads(json_path.read_text())
    assert validate(rep) == [] and rep["interrupted"] is True
    (clean,) = cells(rep, variant="clean", mode="default", role="matrix", pattern="loop")
    assert clean["status"] == "pass"
    (hung,) = cells(rep, variant="hangs", mode="default", role="matrix", pattern="loop")
    assert hung["status"] == "skip" and hung["error"] == "interrupted"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    time.sleep(1)
    assert not _alive(workers)  # every worker of this run, and its children, is gone


def test_write_atomic_never_leaves_half_a_file(tmp_path):
    target = tmp_path / "r.json"
    target.write_text('{"old": true}')
    write_atomic(str(target), json.dumps({"new": list(range(1000))}))
    assert json.loads(target.read_text())["new"][-1] == 999
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]

    with pytest.raises(TypeError):
        write_atomic(str(target), 12345)  # not text: nothing replaced, nothing left behind
    assert json.loads(target.read_text())["new"][-1] == 999
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def _verdicts(report):
    return sorted((c["variant"], c["mode"], c["cudagraphs"], c["role"], c["pattern"], c["status"],
                   tuple((f["class"], f["where"]) for f in c["findings"]), c["predicted"])
                  for c in report["cells"])


def test_same_seed_same_verdicts(default_run, tmp_path):
    first = _verdicts(default_run.report)
    for i in range(2):
        r = run_cli(["diagnose", "--quiet"], tmp_path, name=f"again{i}")
        assert r.rc == default_run.rc
        assert _verdicts(r.report) == first
        assert [x["status"] for x in r.report["ladder"]] == \
            [x["status"] for x in default_run.report["ladder"]]


def test_internal_error_in_the_command_is_one_line_exit_3(tmp_path, monkeypatch, capsys):
    """A bug of compilecheck's own (here: the table renderer raising) is one line and exit
    3; --debug shows the traceback."""
    from compilecheck import cli
    from compilecheck.report import render

    good = ROOT / "tests/data/gpu/h200-torch2.11.0/audit-release/h200-torch2.11.0-state.json"

    def broken(report, details=True):
        raise KeyError("a bug of ours")

    monkeypatch.setattr(render, "table", broken)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    with pytest.raises(SystemExit) as e:
        cli.run(["report", str(good)])
    assert e.value.code == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error (a bug in compilecheck): KeyError" in err[0]
    assert "--debug" in err[0]
    with pytest.raises(KeyError):
        cli.run(["--debug", "report", str(good)])
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)


def test_internal_error_in_a_worker_costs_only_its_cell(tmp_path):
    """A worker that hits a bug of ours answers with it, is marked as ours (not the
    module's), and runs the next cell."""
    import dataclasses

    from compilecheck.classify.cells import INTERNAL, classify
    from compilecheck.run.pool import Pool
    from compilecheck.plan.spec import CellSpec

    good = CellSpec(variant="clean", mode="default", cudagraphs=False, device="cpu",
                    probe=probe("clean"), iters=3)
    bad = dataclasses.replace(good, pattern="no-such-pattern")  # the planner never makes it
    pool = Pool(1, 300)
    try:
        results = pool.run([bad, good])
    finally:
        pool.close()
    assert results[0].outcome == "internal"
    cell = classify(results[0])
    assert cell.status == "fail" and cell.findings == []
    assert cell.error.startswith(INTERNAL) and "KeyError" in cell.error
    # the traceback travels with the cell, for a ticket to us: in the JSON and the markdown
    assert "Traceback" in cell.traceback and "compilecheck/run/cell.py" in cell.traceback
    from compilecheck.report.render import internal_errors

    folded = "\n".join(internal_errors([cell, cell]))
    assert folded.count("compilecheck/run/cell.py") == cell.traceback.count(
        "compilecheck/run/cell.py")  # once, however many cells
    assert folded.startswith("<details") and "a bug in compilecheck" in folded
    assert results[1].outcome == "ok" and classify(results[1]).status == "pass"


def test_a_truncated_kernel_in_inductors_cache_is_cleared(tmp_path):
    """A build killed mid-write leaves a truncated library in inductor's cache, and the next
    compile that loads it fails ("file too short"): the worker clears such files at its start
    (older than ten minutes: another process may be building the recent ones), and the pool
    clears what a worker it killed was building. Real libraries: torch's own, whole and cut."""
    import shutil
    from pathlib import Path

    import torch

    from compilecheck.env.files import scrub_builds, scrub_truncated

    lib = next(p for p in (Path(torch.__file__).parent / "lib").glob("*.so"))
    whole, cut, empty, fresh = (tmp_path / n for n in ("ab/whole.so", "cd/cut.so",
                                                         "ef/empty.so", "gh/fresh.so"))
    for p in (whole, cut, empty, fresh):
        p.parent.mkdir(parents=True)
    shutil.copy(lib, whole)
    cut.write_bytes(lib.read_bytes()[:4096])
    empty.write_bytes(b"")
    fresh.write_bytes(lib.read_bytes()[:4096])
    old = time.time() - 3600
    for p in (whole, cut, empty):
        os.utime(p, (old, old))
    assert scrub_truncated(str(tmp_path)) == 2
    assert whole.exists() and fresh.exists() and not cut.exists() and not empty.exists()
    assert scrub_builds(str(tmp_path), 60) == 1  # what was written during the killed cell
    assert whole.exists() and not fresh.exists()
