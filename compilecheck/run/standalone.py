"""A cell's pieces in torch and the standard library alone, shared by a worker's cell and a
ticket's repro script: the step inputs, the copy of an output, the caller threads, the compile
arguments, a representative's inputs, the tolerance.

A repro script (report/repro.py) carries this file's text and run/replay.py's, so it runs
where compilecheck is not installed and calls the module as the cell did. Nothing here imports
compilecheck (tests/test_ticket.py checks it).
"""
from __future__ import annotations

import queue
import threading

import torch

def step_inputs(args: tuple, steps: int, seed: int) -> list[tuple]:
    """Distinct inputs for successive policy steps from one example: step 0 is the example,
    later steps perturb its floating-point tensors (the noise is made on the CPU and moved to
    the example's device, so a factory may return inputs already on the GPU); a tensor given
    twice stays one tensor, as dynamo guards on that."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(steps):
        made: dict = {}  # one input passed twice (q, k, v of self-attention) stays one

        def perturbed(a):
            if not (isinstance(a, torch.Tensor) and a.is_floating_point() and i):
                return a
            if id(a) not in made:
                made[id(a)] = a + (0.05 * i * torch.randn(a.shape, generator=g)).to(a.device,
                                                                                     a.dtype)
            return made[id(a)]

        out.append(tuple(perturbed(a) for a in args))
    return out


def to_device(value, device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


def seed_all(seed: int):
    """The same random stream for every copy at the start of its call history (a lazy
    module initialises its parameters on its first call)."""
    torch.manual_seed(seed)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.manual_seed_all(seed)


def first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = first_tensor(o)
            if t is not None:
                return t
    if isinstance(out, dict):
        return first_tensor(list(out.values()))
    return None


def consume(out):
    """What a policy loop does with an action: copy it out of the compiled call's memory."""
    t = first_tensor(out)
    return None if t is None else t.detach().float().cpu().clone()


def tolerance(refs: list) -> float:
    """How far a compiled output may be from eager: 1% of the largest eager output."""
    scale = max((float(r.abs().max()) for r in refs if r is not None), default=1.0)
    return 1e-2 * max(scale, 1e-3)


def compile_kwargs(mode: str, cudagraphs: bool) -> dict:
    """torch.compile's arguments for a cell: the mode as torch defines it, or, for the mode
    without its CUDA graphs, the mode's own options with triton.cudagraphs set (torch refuses
    a mode and options together)."""
    from torch._inductor import list_mode_options

    options = dict(list_mode_options(mode))
    if cudagraphs and options.get("triton.cudagraphs"):
        return {"mode": mode}
    options["triton.cudagraphs"] = bool(cudagraphs)
    return {"options": options}


class Runner:
    """Runs calls on a fixed set of threads in turn (call i on thread i % n)."""

    def __init__(self, n: int):
        self.n = n
        self.queues = [queue.Queue() for _ in range(n)] if n > 1 else []
        self.threads = [threading.Thread(target=self._serve, args=(q,), daemon=True,
                                         name=f"caller-{i}") for i, q in enumerate(self.queues)]
        for t in self.threads:
            t.start()

    @staticmethod
    def _serve(q):
        while True:
            item = q.get()
            if item is None:
                return
            fn, box, done = item
            try:
                box["value"] = fn()
            except BaseException as e:  # noqa: BLE001 - handed back to the caller
                box["error"] = e
            done.set()

    def call(self, i: int, fn):
        if not self.queues:
            return fn()
        box, done = {}, threading.Event()
        self.queues[i % self.n].put((fn, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def close(self):
        for q in self.queues:
            q.put(None)


class NoRepresentative(ValueError):
    """The module at a representative's path cannot run alone."""


def representative(module, steps: list, path: str, iters: int):
    """The instance at ``path`` as it was before any call, and the inputs the whole module's
    own calls give it (its first ``iters`` calls, over as many whole calls as that takes)."""
    import copy

    sub = module.get_submodule(path)
    before = copy.deepcopy(sub)
    seen: list = []

    def keep(_, args, kwargs):
        if kwargs:
            raise NoRepresentative(f"{path} is called with keyword arguments: it cannot be run "
                                   "alone on the inputs recorded (the whole module's cells "
                                   "cover it)")
        seen.append(tuple(a.detach().clone() if isinstance(a, torch.Tensor) else a
                          for a in args))

    handle = sub.register_forward_pre_hook(keep, with_kwargs=True)
    inside: set = set()  # its submodules the whole module's calls reach
    hooks = [m.register_forward_pre_hook(lambda m, a, name=name: inside.add(name))
             for name, m in sub.named_modules() if name]
    forward, own = sub.forward, vars(sub).get("forward")  # a forward already patched stays
    direct: list = []

    def counted(*a, **kw):  # its own forward, however reached (``__call__`` or ``.forward``)
        direct.append(1)
        return forward(*a, **kw)

    sub.forward = counted
    try:
        with torch.no_grad():
            for i in range(max(1, iters)):
                module(*steps[i % len(steps)])
                if len(seen) >= iters:
                    break
    finally:
        handle.remove()
        for h in hooks:
            h.remove()
        if own is not None:
            sub.forward = own
        else:
            del sub.forward
    if not seen:
        raise NoRepresentative(_not_called(path, bool(direct), sorted(inside)))
    return before, seen[:iters]


def _not_called(path: str, direct: bool, inside: list) -> str:
    """Why the instance at ``path`` cannot be run alone, true for the module."""
    if direct:
        return (f"{path}.forward is called directly (not through the module's __call__), so "
                "its inputs cannot be recorded to run it alone (the whole module's cells "
                "cover it)")
    if inside:
        return (f"{path}.forward is never called by the module's forward, only parts of it "
                f"({', '.join(inside[:3])}{', ...' if len(inside) > 3 else ''}): it cannot be "
                "run alone (the whole module's cells cover those parts)")
    return f"{path} is not called by the module's forward"
