"""A trivial probe whose factory records which compilecheck each process imported (the CLI process
and its workers): one line per process appended to $B26_WHOAMI. Used by run_score.sh."""
import os
import sys

import torch


def factory():
    cc = sys.modules.get("compilecheck")
    with open(os.environ.get("B26_WHOAMI", "/dev/null"), "a") as f:
        f.write(f"pid={os.getpid()} compilecheck={getattr(cc, '__file__', None)}\n")
    torch.manual_seed(0)
    return torch.nn.Linear(4, 4), (torch.randn(2, 4),)
