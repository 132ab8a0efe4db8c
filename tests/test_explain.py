"""compilecheck explain on a corpus of real logs (tests/data/logs/INDEX.md says where each is
from and what it must be classified as)."""
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from compilecheck.explain import explain_lines, explain_text, strip_prefixes
from compilecheck.findings import CLASSES

LOGS = Path(__file__).parent / "data" / "logs"


def corpus(split=None):
    """(file, primary, also) rows of INDEX.md, of one split (tune / heldout) or all."""
    rows = []
    for line in (LOGS / "INDEX.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].endswith(".log"):
            if split is None or cells[4] == split:
                rows.append((cells[0], None if cells[2] == "none" else cells[2],
                             [c.strip() for c in cells[3].split(",") if c.strip()]))
    return rows


def explain_cli(*args, stdin=None):
    p = subprocess.run([sys.executable, "-m", "compilecheck", "explain", *args],
                       input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_corpus_is_indexed_completely():
    indexed = {name for name, _, _ in corpus()}
    assert indexed == {p.name for p in LOGS.glob("*.log")}
    assert len(indexed) >= 120
    assert len(corpus("tune")) + len(corpus("heldout")) == len(indexed)
    assert len(corpus("heldout")) >= 30


def _explain_file(name):
    with open(LOGS / name, encoding="utf-8") as f:
        return explain_lines(f)


def _points_at_real_lines(name, result):
    lines = (LOGS / name).read_text(encoding="utf-8").splitlines()
    for hit in result.findings:  # every claim points at a real line of the log
        assert 1 <= hit.line <= len(lines) and hit.text
        assert lines[hit.line - 1].strip(), (name, hit)


@pytest.mark.parametrize("name,primary,also", corpus("tune"))
def test_corpus_log(name, primary, also):
    result = _explain_file(name)
    if name == "pt138908_prose_doubled_vs_quadrupled.log":  # prose only: a known miss
        pytest.xfail("the mismatch is told in words ('it gets 4 times'), not in a printout")
    assert result.primary == primary, str(result)
    found = {h.cls for h in result.findings}
    for cls in also:
        assert cls in found
    if primary is None:
        assert result.findings == []
    _points_at_real_lines(name, result)


def test_heldout_part_scores_at_least_90_percent():
    """The held-out excerpts (chosen by file name before any tuning) are scored as a whole:
    the done-criterion of issue 15, primary class right on at least 90%."""
    rows = corpus("heldout")
    wrong = []
    for name, primary, _ in rows:
        result = _explain_file(name)
        _points_at_real_lines(name, result)
        if result.primary != primary:
            wrong.append((name, primary, result.primary))
    assert 1 - len(wrong) / len(rows) >= 0.90, wrong


def test_json_shape_and_cli():
    rc, out, _ = explain_cli(str(LOGS / "cpu_state_mutation_recompiles.log"), "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["primary"] == "state_mutation"
    assert all({"class", "line", "text"} <= set(f) for f in d["findings"])
    assert d["rung"] == "warm-up" and d["cause"] and d["fix"]
    lines = (LOGS / "cpu_state_mutation_recompiles.log").read_text().splitlines()
    sm = [f for f in d["findings"] if f["class"] == "state_mutation"][0]
    assert "_act_scale" in lines[sm["line"] - 1]


def test_text_output_names_cause_fix_and_rung():
    rc, out, _ = explain_cli(str(LOGS / "pt148439_overwrite_rank_prefixed.log"))
    assert rc == 0
    c = CLASSES["cudagraph_overwrite"]
    assert out.startswith("Primary: cudagraph_overwrite")
    assert c.cause in out and c.fix in out and "rung:  warm-up" in out


def test_stdin():
    rc, out, _ = explain_cli("-", "--json", stdin=(LOGS / "cpu_allocator_oom.log").read_bytes())
    assert rc == 0 and json.loads(out)["primary"] == "oom"


@pytest.mark.parametrize("prefix", [
    "V1126 06:22:06.195000 886349 torch/_dynamo/guards.py:123] [0/1] [__recompiles] ",
    "[rank3]:V1126 06:22:06.195000 886349 torch/_dynamo/guards.py:123] [0/1] [__recompiles] ",
    "[rank0]: ",
    "2026-11-26 06:22:06,195 - ",
    "[2022-12-22 03:54:03,390] ",
    "2026-11-26T06:22:06.195Z ",
    "INFO:torch._dynamo.guards: ",
    "",
])
def test_prefix_styles(prefix):
    log = (f"{prefix}    triggered by the following guard failure(s):\n"
           f"{prefix}    - 0/0: self._buffers['_act_scale'] is None\n")
    result = explain_text(log)
    assert result.primary == "state_mutation", (prefix, str(result))
    assert strip_prefixes(f"{prefix}- 0/0: x").strip() == "- 0/0: x"


def test_module_state_guard_versus_shape_guard():
    assert explain_text("    - 0/0: self.scale is None\n").primary == "state_mutation"
    assert explain_text("    - 0/0: L['self']._buffers['inv_freq'] is None\n").primary == \
        "state_mutation"
    shape = explain_text("    - 0/0: tensor 'x' size mismatch at index 0. expected 4, actual 8\n")
    assert shape.primary == "recompile"


def test_nothing_claimed_for_an_innocent_log():
    text = "\n".join([
        "epoch 1: loss 0.53, accuracy 0.91",
        "compiling the policy, this may take a while",
        "saved checkpoint to /tmp/ckpt",
        "INFO: all 18 layers quantised (W4A8)",
    ] * 100)
    assert explain_text(text).findings == []
    rc, out, _ = explain_cli("-", stdin=text.encode())
    assert rc == 0 and "nothing in the finding vocabulary" in out


def test_streams_a_large_log_with_bounded_memory():
    """A long log (1e5 lines, many matches) keeps a bounded list of findings, counts all."""
    block = (LOGS / "cpu_state_mutation_recompiles.log").read_text()
    n = 2000

    class Lines:  # an iterator: the text never exists whole
        def __iter__(self):
            for _ in range(n):
                yield from io.StringIO(block)

    result = explain_lines(Lines())
    assert result.counts["state_mutation"] == n
    assert len(result.findings) <= 20 * len(CLASSES)
    assert result.lines_read == n * len(block.splitlines())


def test_undecodable_bytes_are_handled(tmp_path):
    p = tmp_path / "latin1.log"
    p.write_bytes("caf\xe9 \xff\xfe\n".encode("latin-1") +
                  (LOGS / "cpu_allocator_oom.log").read_bytes())
    rc, out, err = explain_cli(str(p), "--json")
    assert rc == 0 and json.loads(out)["primary"] == "oom"


@pytest.mark.parametrize("make,needle", [
    (lambda p: p.write_bytes(bytes(range(256)) * 64), "binary"),
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "directory"),
])
def test_bad_inputs_one_line_exit_2(tmp_path, make, needle):
    p = tmp_path / "input.log"
    make(p)
    rc, out, err = explain_cli(str(p))
    assert rc == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
