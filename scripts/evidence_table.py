"""The CPU prediction next to what a GPU did, cell by cell (the table in docs/failure-modes.md).

    python scripts/evidence_table.py CPU_REPORT.json GPU_REPORT.json [GPU_REPORT.json ...]

(a GPU report's column is named after its folders: tests/data/gpu/GPU-TORCH/RELEASE/)

For every cell of a GPU report that ran with CUDA graphs, the cell of the CPU report with the
same variant, mode, role and call pattern: what the CPU predicted (from its CUDA-graphs-off
twin, or from what the call pattern showed there) and what the GPU measured.
"""
from __future__ import annotations

import json
import sys


def outcome(cell: dict) -> str:
    """What a cell that ran shows: the overwrite or a call-pattern failure by name, else its
    status."""
    classes = [f["class"] for f in cell["findings"]]
    for name in ("cudagraph_overwrite", "kept_output_overwritten", "cudagraph_never_recorded",
                 "cudagraph_threads"):
        if name in classes:
            return name
    return cell["status"]


def prediction(cell: dict) -> str | None:
    """What a CPU cell says CUDA graphs would do: a skipped cell's prediction, or the class a
    pattern's CPU cell predicts."""
    if cell["status"] == "skip":
        return cell.get("predicted")
    predicted = [f.get("predicts") for f in cell["findings"] if f.get("predicts")]
    return predicted[0] if predicted else outcome(cell)


def _key(c: dict) -> tuple:
    return (c["variant"], c.get("role", "matrix"), c.get("pattern", "loop"), c["mode"])


def rows(cpu: dict, gpu: dict) -> list[list[str]]:
    by_key = {}
    for c in cpu["cells"]:
        if c["mode"] == "eager" or c["status"] == "skip" and not c.get("predicted"):
            continue
        # the CUDA-graphs cell where the CPU has a prediction for it, else the cell that ran
        if c["cudagraphs"] == "on" or _key(c) not in by_key:
            by_key[_key(c)] = c
    out = []
    for g in gpu["cells"]:
        if g["cudagraphs"] != "on" or g["status"] == "skip":
            continue
        c = by_key.get(_key(g))
        if c is None:
            continue
        variant, role, pattern, mode = _key(g)
        label = variant if role in ("matrix", "call-pattern") else f"{variant} [{role}]"
        if pattern != "loop":
            label += f" [{pattern}]"
        out.append([label, mode, prediction(c) or "none", outcome(g)])
    return out


def markdown(cpu: dict, gpus: dict) -> str:
    """One row per cell and mode; one column per GPU report (``gpus``: title -> report)."""
    table: dict = {}
    for i, gpu in enumerate(gpus.values()):
        for cell, mode, predicted, measured in rows(cpu, gpu):
            row = table.setdefault((cell, mode), [cell, mode, predicted] + ["not run"] * len(gpus))
            row[3 + i] = measured
    head = ["cell", "mode", "CPU prediction", *gpus]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in table.values()]
    return "\n".join(lines)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    import os

    load = lambda p: json.load(open(p, encoding="utf-8"))  # noqa: E731
    gpus = {f"{os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(p))))} "
            f"({os.path.basename(os.path.dirname(os.path.abspath(p)))})": load(p)
            for p in argv[2:]}
    print(markdown(load(argv[1]), gpus))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
