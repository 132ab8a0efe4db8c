"""Score `compilecheck explain` on the log corpus (not a test; figures only).

    python benchmarks/eval_explain.py [--split tune|heldout|heldout2|heldout3|all] [--misses]

Reads tests/data/logs/INDEX.md (file | source | primary | also | split), runs explain on each
log of the chosen part and prints the primary-class accuracy and, per class, precision and
recall of the primary finding (a log labelled `none` counts as the class `none`). The split
was fixed before the text patterns were tuned (sha1 of the file name); the held-out part is
meant to be scored once, at the end.
"""
import argparse
import collections
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from compilecheck.explain.command import explain_lines  # noqa: E402

LOGS = os.path.join(ROOT, "tests", "data", "logs")


def corpus():
    rows = []
    with open(os.path.join(LOGS, "INDEX.md"), encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and cells[0].endswith(".log"):
                split = cells[4] if len(cells) > 4 and cells[4] else "tune"
                rows.append((cells[0], cells[2] or "none", split))
    return rows


def score(rows):
    """(accuracy, {class: (tp, fp, fn)}, misses) over (name, truth, predicted) triples."""
    stats = collections.defaultdict(lambda: [0, 0, 0])
    misses = []
    for name, truth, pred in rows:
        if truth == pred:
            stats[truth][0] += 1
        else:
            stats[pred][1] += 1
            stats[truth][2] += 1
            misses.append((name, truth, pred))
    acc = sum(1 for _, t, p in rows if t == p) / len(rows) if rows else 0.0
    return acc, stats, misses


def report(title, rows, show_misses):
    acc, stats, misses = score(rows)
    right = len(rows) - len(misses)
    print(f"{title}: {len(rows)} logs, primary right {right}/{len(rows)} = {acc:.1%}")
    print(f"  {'class':26} {'n':>3} {'precision':>10} {'recall':>8}")
    for cls in sorted(stats):
        tp, fp, fn = stats[cls]
        n = tp + fn
        prec = f"{tp / (tp + fp):.0%}" if tp + fp else "-"
        rec = f"{tp / n:.0%}" if n else "-"
        print(f"  {cls:26} {n:>3} {prec:>10} {rec:>8}")
    if show_misses and misses:
        print("  misses (file: truth -> predicted):")
        for name, truth, pred in misses:
            print(f"    {name}: {truth} -> {pred}")
    return acc, stats


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["tune", "heldout", "heldout2", "heldout3", "all"],
                    default="tune")
    ap.add_argument("--misses", action="store_true", help="list the logs it gets wrong")
    a = ap.parse_args(argv)
    parts = ["tune", "heldout", "heldout2", "heldout3"] if a.split == "all" else [a.split]
    for part in parts:
        rows = []
        for name, truth, split in corpus():
            if split != part:
                continue
            with open(os.path.join(LOGS, name), encoding="utf-8", errors="replace") as f:
                pred = explain_lines(f).primary or "none"
            rows.append((name, truth, pred))
        report(part, rows, a.misses)


if __name__ == "__main__":
    main()
