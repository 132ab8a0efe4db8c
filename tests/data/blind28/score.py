"""Score a compilecheck executable's `explain --json` on the blind28 logs against the frozen labels.

usage: python tests/data/blind28/score.py PATH/TO/compilecheck [--truth FILE ...] [--logs DIR]

`--truth` may be given more than once (batch 1: TRUTH.frozen.md, the default; batch 2:
TRUTH2.frozen.md); the logs of all the files given are scored together, with the totals of each
file after the combined totals. Each labels file is checked against the sha256 file beside it
(TRUTH.frozen.md against TRUTH.frozen.sha256, TRUTH2.frozen.md against TRUTH2.frozen.sha256).

Standard library only. Prints a markdown report: one row per log, then the totals (primary class right
overall, on pasted logs and on prose; the graph-break code named where the labels have one; the `also`
classes found; nothing claimed where the labels say none), and the primary result per labelled class.
A log the tool cannot read (non-zero exit, no JSON) counts as wrong everywhere.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def read_truth(path: pathlib.Path) -> list[dict]:
    rows = []
    for line in path.read_text().splitlines():
        if not line.startswith("| ") or line.startswith("| file ") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        file, source, date, kind, venue, primary, also, gb, why = cells
        rows.append({"file": file, "source": source, "date": date, "kind": kind, "venue": venue,
                     "primary": primary, "also": [a for a in also.split(",") if a],
                     "gb": gb, "why": why})
    return rows


def run_explain(exe: str, log: pathlib.Path, timeout: float) -> tuple[dict | None, str]:
    try:
        proc = subprocess.run([exe, "explain", str(log), "--json"], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    if proc.returncode != 0:
        return None, f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:] or ''}"
    try:
        return json.loads(proc.stdout), ""
    except json.JSONDecodeError:
        return None, "no JSON"


def codes_named(out: dict) -> set[str]:
    codes = {f.get("code") for f in out.get("findings", []) if f.get("code")}
    codes |= {g.get("code") for g in out.get("graph_breaks", []) or [] if g.get("code")}
    return {c.upper() for c in codes}


def judge(row: dict, out: dict | None) -> dict:
    if out is None:
        return {"tool": "(error)", "primary_ok": False, "code_ok": False if row["gb"] else None,
                "also_missing": list(row["also"]), "none_ok": False if row["primary"] == "none" else None,
                "codes": set()}
    tool = out.get("primary") or "none"
    classes = {f.get("class") for f in out.get("findings", [])}
    codes = codes_named(out)
    res = {"tool": tool, "codes": codes,
           "also_missing": [a for a in row["also"] if a not in classes],
           "code_ok": (row["gb"].upper() in codes) if row["gb"] else None,
           "none_ok": None}
    if row["primary"] == "none":
        res["none_ok"] = out.get("primary") is None and not out.get("findings")
        res["primary_ok"] = res["none_ok"]
    else:
        res["primary_ok"] = tool == row["primary"]
    return res


def frac(ok: int, n: int) -> str:
    return f"{ok}/{n} ({100.0 * ok / n:.1f}%)" if n else "0/0"


def sha_file_for(truth_path: pathlib.Path) -> pathlib.Path:
    """TRUTH.frozen.md -> TRUTH.frozen.sha256 (the digest file frozen beside the labels)."""
    return truth_path.with_suffix(".sha256")


def print_totals(results: list) -> None:
    def count(pred):
        sel = [(r, s) for r, s in results if pred(r)]
        return sum(1 for _, s in sel if s["primary_ok"]), len(sel)

    print("| measure | score |")
    print("|---|---|")
    print(f"| primary right, all | {frac(*count(lambda r: True))} |")
    print(f"| primary right, pasted logs (kind log) | {frac(*count(lambda r: r['kind'] == 'log'))} |")
    print(f"| primary right, prose | {frac(*count(lambda r: r['kind'] == 'prose'))} |")
    print(f"| primary right, forum/Q&A/blog pages | {frac(*count(lambda r: r['venue'] == 'page'))} |")
    print(f"| primary right, issue threads | {frac(*count(lambda r: r['venue'] == 'issue'))} |")
    with_code = [s for r, s in results if r["gb"]]
    print(f"| graph-break code named where labelled | {frac(sum(1 for s in with_code if s['code_ok']), len(with_code))} |")
    also_total = sum(len(r["also"]) for r, _ in results)
    also_found = also_total - sum(len(s["also_missing"]) for _, s in results)
    print(f"| `also` classes found | {frac(also_found, also_total)} |")
    nones = [s for r, s in results if r["primary"] == "none"]
    print(f"| nothing claimed where the labels say none | {frac(sum(1 for s in nones if s['none_ok']), len(nones))} |")
    errors = sum(1 for _, s in results if s["error"])
    print(f"| logs the tool could not read | {errors} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("exe", help="path of the compilecheck executable to score")
    ap.add_argument("--truth", action="append", default=None,
                    help="a frozen labels file; repeat to score batches together "
                         "(default: TRUTH.frozen.md, batch 1)")
    ap.add_argument("--logs", default=str(HERE / "logs"))
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()

    truth_paths = [pathlib.Path(t) for t in (args.truth or [str(HERE / "TRUTH.frozen.md")])]
    for truth_path in truth_paths:
        if not truth_path.is_file():
            print(f"error: no labels file {truth_path}", file=sys.stderr)
            return 2
    print(f"# blind28 score of `{args.exe}`\n")
    rows, source_of = [], {}
    for truth_path in truth_paths:
        file_rows = read_truth(truth_path)
        digest = hashlib.sha256(truth_path.read_bytes()).hexdigest()
        frozen = sha_file_for(truth_path)
        expected = frozen.read_text().split()[0] if frozen.exists() else ""
        print(f"labels: `{truth_path.name}` sha256 {digest} "
              f"({'matches' if digest == expected else 'DOES NOT MATCH'} {frozen.name}); {len(file_rows)} logs\n")
        for row in file_rows:
            if row["file"] in source_of:
                print(f"error: {row['file']} is labelled in both {source_of[row['file']]} and {truth_path.name}")
                return 2
            source_of[row["file"]] = truth_path.name
        rows += file_rows
    if len(truth_paths) > 1:
        print(f"{len(rows)} logs in all\n")

    results = []
    for row in rows:
        out, err = run_explain(args.exe, pathlib.Path(args.logs) / row["file"], args.timeout)
        res = judge(row, out)
        res["error"] = err
        results.append((row, res))

    print("| file | kind | venue | truth | explain | primary | gb truth | gb named | also missing |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row, res in results:
        named = ",".join(sorted(res["codes"])) or "-"
        code = "" if row["gb"] == "" else ("yes" if res["code_ok"] else "no")
        tool = res["tool"] + (f" [{res['error']}]" if res["error"] else "")
        print(f"| {row['file']} | {row['kind']} | {row['venue']} | {row['primary']} | {tool} | "
              f"{'ok' if res['primary_ok'] else 'MISS'} | {row['gb'] or '-'} {code} | {named} | "
              f"{','.join(res['also_missing']) or '-'} |")

    print("\n## Totals\n")
    print_totals(results)
    if len(truth_paths) > 1:
        for truth_path in truth_paths:
            print(f"\n### Totals, `{truth_path.name}` only\n")
            print_totals([(r, s) for r, s in results if source_of[r["file"]] == truth_path.name])

    print("\n## Primary by labelled class\n")
    print("| class | logs | right | explain said instead |")
    print("|---|---|---|---|")
    by_class = collections.defaultdict(list)
    for r, s in results:
        by_class[r["primary"]].append(s)
    for cls in sorted(by_class):
        ss = by_class[cls]
        wrong = collections.Counter(s["tool"] for s in ss if not s["primary_ok"])
        said = ", ".join(f"{k} x{v}" for k, v in wrong.most_common()) or "-"
        print(f"| {cls} | {len(ss)} | {sum(1 for s in ss if s['primary_ok'])} | {said} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
