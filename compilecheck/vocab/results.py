"""The records a diagnosis is made of: a cell's result and a rung's verdict (the report's
``cells`` and ``ladder``)."""
from __future__ import annotations

import dataclasses

CELL_FIELDS = ("variant", "mode", "cudagraphs", "device", "wbits", "abits", "status",
               "findings", "error", "compile_s", "eager_ms", "compiled_ms", "speedup",
               "max_abs_err", "graphs", "graph_breaks", "recompiles", "cudagraph_skips")


@dataclasses.dataclass
class CellResult:
    variant: str
    mode: str
    cudagraphs: str  # "on" | "off"
    device: str
    wbits: int | None
    abits: int | None
    status: str  # pass | warn | fail | skip
    findings: list  # [{"class", "detail", "where"}]
    error: str | None = None
    compile_s: float | None = None
    eager_ms: float | None = None
    compiled_ms: float | None = None
    speedup: float | None = None
    max_abs_err: float | None = None
    graphs: int | None = None
    graph_breaks: int | None = None
    recompiles: int | None = None
    cudagraph_skips: int | None = None
    # beyond the schema's required fields
    role: str = "matrix"
    shape: str = ""
    predicted: str | None = None  # for a cell that could not run: what CUDA graphs would do
    wall_s: float | None = None
    pattern: str = "loop"  # how the caller called it
    warmup: int = 0  # eager calls before torch.compile
    eager_spread: list | None = None  # [25th, 75th percentile] ms
    compiled_spread: list | None = None
    speedup_range: list | None = None  # [low, high]: eager's spread over compiled's
    compile_profile: dict | None = None  # where the compile time went (observe/profile.py)
    gpu_ms: list | None = None  # [eager, compiled] median CUDA-event times (GPU only)
    same_as: str | None = None  # measured once with the cell of this mode (same experiment)
    scope: str = "whole"  # the whole module, or the dotted path of the representative measured
    traceback: str | None = None  # an internal error's traceback, for a ticket to compilecheck
    calls: int | None = None  # compiled calls made (more than planned where each recompiled)

    @property
    def classes(self) -> list[str]:
        return [f["class"] for f in self.findings]

    @property
    def on_gpu(self) -> bool:
        """Measured with CUDA graphs on a GPU (not predicted)."""
        return self.device == "cuda" and self.cudagraphs == "on" and self.status != "skip"


@dataclasses.dataclass
class Rung:
    rung: int
    name: str
    status: str  # pass | warn | fail | skip | n/a
    speedup: float | None
    settings: str
    why: str
    keeps_numerics: bool = True
    speedup_range: list | None = None  # [low, high]
    basis: str = ""  # what the status rests on: measured with CUDA graphs, or predicted
    same_as: str | None = None  # a rung whose cells it shares (nothing measured of its own)
    predicted: str | None = None  # CPU: what CUDA graphs would make of it
    warmup: int = 0  # eager calls before compiling its cells had
    undecided: dict | None = None  # its cell ran out of time: {timeout_s, what} (no verdict)
    warnings: list | None = None  # the classes its deciding cell warned with
    unfit: str | None = None  # why its clean cell measured no compiled code (no graph; a
    # recompile on every call): not a candidate
