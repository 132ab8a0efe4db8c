"""What a cell is: the plain-data description that crosses from planner to worker."""
from __future__ import annotations

import dataclasses
import json


@dataclasses.dataclass(frozen=True)
class CellSpec:
    variant: str  # built-in variant name, or the user factory's name
    mode: str  # "eager" or a torch.compile mode
    cudagraphs: bool
    device: str  # "cpu" | "cuda"
    shape: str = "tiny"
    config: tuple = ()  # DuQuantConfig fields as sorted (name, value) pairs
    seed: int = 0
    iters: int = 4
    probe: str | None = None  # user factory SPEC; None for the built-in DuQuant probe
    env: tuple = ()  # extra environment for the worker, (name, value) pairs
    role: str = "matrix"  # "matrix", "call-pattern", or the ladder rung this cell measures
    skip_reason: str | None = None  # set by the planner: known before anything runs
    warmup: int = 0  # eager calls before torch.compile; -1: as many as the state audit says
    pattern: str = "loop"  # how the caller calls the compiled module (calls.PATTERNS)
    scope: str = "whole"  # "whole", or the dotted path of the instance measured for its class

    @property
    def label(self) -> str:
        cg = "cudagraphs" if self.cudagraphs else "no-cudagraphs"
        extra = f" [{self.role}]" if self.role not in ("matrix", "call-pattern") else ""
        if self.pattern != "loop":
            extra += f" [{self.pattern}]"
        if self.scope != "whole":
            extra += f" [representative {self.scope}]"
        return f"{self.variant} / {self.mode} / {cg}{extra}"

    @property
    def config_dict(self) -> dict:
        return dict(self.config)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "CellSpec":
        d = json.loads(text)
        d["config"] = tuple(tuple(p) for p in d["config"])
        d["env"] = tuple(tuple(p) for p in d["env"])
        return cls(**d)
