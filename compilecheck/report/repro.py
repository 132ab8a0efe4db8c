"""One repro script of a ticket: a cell that failed (or whose failure under CUDA graphs was
predicted), as a Python file that needs torch and the user's own code only.

The script is a header comment (where it came from, compilecheck's finding, how to run it),
the cell's constants, a ``build()`` for its module (the user's factory imported as the run
imported it, or the built-in probes copied beside the script), then the text of
run/standalone.py and run/replay.py, which build, compile and call it as the cell did and end
with one line.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import pprint
import textwrap

from ..plan.spec import CellSpec
from ..plan.userprobes import probe_source
from ..vocab.callpatterns import PATTERNS
from ..vocab.messages import OVERWRITE_RE
from ..vocab.results import CellResult

MESSAGE_CLASSES = {"cudagraph_overwrite": OVERWRITE_RE.pattern}  # told by torch's wording
CHILD_CLASSES = ("crash", "timeout")  # the repro runs the cell in a child process


@dataclasses.dataclass
class Failure:
    """One distinct failure of a ticket: its class, the cell that shows it and its spec."""

    cls: str
    cell: CellResult
    spec: CellSpec
    predicted: bool  # a CUDA-graph cell that could not run here: predicted, not measured
    finding: dict | None  # compilecheck's finding (for a prediction, the measured sibling's)
    traced: CellSpec | None  # the cell whose run the TORCH_TRACE records (None: none ran)
    warmup: int  # eager calls before torch.compile, as the cell had them
    calls: int  # compiled calls, as the cell made them before the failure
    error: str | None = None  # the run's error ("module.Type: message"; a prediction's sibling's)

    @property
    def cudagraphs(self) -> bool:
        """A predicted failure is one of CUDA graphs (the target mode's own, for a call
        pattern's cell, which a machine without CUDA plans with them off)."""
        return bool(self.spec.cudagraphs or self.predicted)

    @property
    def slug(self) -> str:
        parts = [self.cell.variant, self.cell.mode]
        if self.cudagraphs:
            parts.append("cudagraphs")
        if self.cell.pattern != "loop":
            parts.append(self.cell.pattern)
        if self.cell.scope != "whole":
            parts.append("at-" + self.cell.scope.rsplit(".", 1)[-1])
        parts.append(self.cls)
        return "-".join("".join(ch if ch.isalnum() or ch in "_." else "-" for ch in p)
                        for p in parts)

    @property
    def title(self) -> str:
        c = self.cell
        where = f" [{c.pattern}]" if c.pattern != "loop" else ""
        where += f" [on {c.scope}]" if c.scope != "whole" else ""
        rung = f" [rung {c.role}]" if c.role not in ("matrix", "call-pattern") else ""
        return (f"{self.cls}{' (predicted)' if self.predicted else ''} in {c.variant} / "
                f"{c.mode} / CUDA graphs {'on' if self.cudagraphs else 'off'}{where}{rung}")


def expectation(f: Failure) -> dict:
    """What the script counts as the failure coming back."""
    out = {"class": f.cls, "error_type": None, "message": MESSAGE_CLASSES.get(f.cls)}
    if f.error and f.cls not in MESSAGE_CLASSES:  # the same exception type as the run's
        out["error_type"] = f.error.split(":", 1)[0].strip()
    return out


def cell_constants(f: Failure, timeout: float) -> dict:
    p = PATTERNS[f.spec.pattern]
    return {
        "variant": f.cell.variant, "mode": f.spec.mode, "cudagraphs": f.cudagraphs,
        "device": "cuda" if f.cudagraphs else f.spec.device,  # CUDA graphs need CUDA
        "pattern": {"name": p.name, "grad": p.grad, "keep": p.keep, "threads": p.threads},
        "scope": f.spec.scope, "seed": f.spec.seed, "iters": f.spec.iters, "calls": f.calls,
        "warmup": f.warmup, "timeout": timeout, "expect": expectation(f),
    }


def _build_source(spec: CellSpec) -> tuple[str, str]:
    """(constants, build()) for the cell's module, and what the script needs beside torch."""
    if spec.probe is None:
        kind, target, name = "builtin", spec.variant, ""
    else:
        kind, target, name = probe_source(spec.probe)
    config = dict(spec.config)
    if kind in ("builtin", "policy"):
        made = (f'    p = probes.build(CELL["variant"], probes.parse_shape({spec.shape!r}), '
                f'config, CELL["seed"], CELL["iters"])\n'
                '    return p.module, [(x,) for x in p.inputs]\n') if kind == "builtin" else (
                f'    module, _ = probes.build_policy({target!r}, {name!r}, config, CELL["seed"])\n'
                f'    return module, probes.policy_inputs({target!r}, CELL["seed"], '
                'CELL["iters"])\n')
        return f"CONFIG = {pprint.pformat(config)}  # the DuQuant knobs of the run\n", (
            "def build():\n"
            '    """The built-in probe of the run: its source is in probes/ beside this '
            'script."""\n'
            "    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"
            "    import probes\n\n"
            '    torch.manual_seed(CELL["seed"])\n'
            "    config = probes.DuQuantConfig(**CONFIG)\n" + made)
    if kind == "pickle":
        head = ("# the module (or factory) the run was given from Python, as it was pickled "
                "for the workers\n" f"SUBJECT = {pickle_name(spec)!r}\n")
        load = ("    import pickle  # cloudpickle must be importable where it pickled a class "
                "by value\n\n"
                "    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "
                'SUBJECT), "rb") as f:\n'
                "        made = pickle.load(f)\n"
                "    module, args = made() if callable(made) and not isinstance(made, tuple) "
                "else made\n")
    elif kind == "file":
        head = (f"PROBE_FILE = {target!r}  # your module's file, as the run imported it "
                "(edit if it moved)\n" f"FACTORY = {name!r}\n")
        load = ("    import importlib.util\n\n"
                '    loader = importlib.util.spec_from_file_location("_repro_probe", PROBE_FILE)\n'
                "    found = importlib.util.module_from_spec(loader)\n"
                "    sys.modules[loader.name] = found\n"
                "    loader.loader.exec_module(found)\n"
                "    module, args = getattr(found, FACTORY)()\n")
    else:
        import os

        head = (f"MODULE, FACTORY = {target!r}, {name!r}  # your factory, as the run "
                "imported it\n"
                f"RUN_DIR = {os.getcwd()!r}  # where the run was started (on its sys.path)\n")
        load = ("    import importlib\n\n"
                "    sys.path.append(RUN_DIR)\n"
                "    module, args = getattr(importlib.import_module(MODULE), FACTORY)()\n")
    return head, ("def build():\n"
                  '    """Your module, built by your factory with the seed of the run, and the '
                  'inputs of each call\n    (later calls perturb the example\'s floating-point '
                  'tensors, as the run did)."""\n'
                  '    torch.manual_seed(CELL["seed"])\n' + load +
                  "    args = (args,) if isinstance(args, torch.Tensor) else tuple(args)\n"
                  '    return module, step_inputs(args, CELL["iters"], CELL["seed"])\n')


def pickle_name(spec: CellSpec) -> str:
    import os

    return "subject-" + os.path.basename(probe_source(spec.probe)[1])


def needs(spec: CellSpec) -> str:
    """What the script needs beside torch, in a few words."""
    if spec.probe is None or probe_source(spec.probe)[0] == "policy":
        return "the built-in probe's source, copied into probes/ beside it"
    kind, target, name = probe_source(spec.probe)
    if kind == "pickle":
        return f"the module the run was given, pickled as {pickle_name(spec)} (and " \
               "cloudpickle, where it pickled a class by value)"
    return f"your code: {target} ({name})" if kind == "file" else \
        f"your code: {target}.{name}, importable"


def _code(module) -> str:
    """A module's code as a script carries it: without its docstring, its __future__ import
    and its relative imports (what those import precedes it in the script)."""
    text = inspect.getsource(module)
    drop = set()
    for node in ast.parse(text).body:
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) or (
                isinstance(node, ast.ImportFrom) and (node.level or node.module == "__future__")):
            drop.update(range(node.lineno, node.end_lineno + 1))
    lines = [line for n, line in enumerate(text.splitlines(), 1) if n not in drop]
    return "\n".join(lines).strip() + "\n"


def runtime() -> str:
    """What every script runs: run/standalone.py, then run/replay.py."""
    from ..run import replay, standalone  # they import torch: only when a script is written

    return "\n\n".join(_code(m) for m in (standalone, replay))


def _comment(text: str, indent: str = "# ") -> list[str]:
    return textwrap.wrap(" ".join(str(text).split()), 96, initial_indent=indent,
                         subsequent_indent=indent + "  ", break_long_words=False,
                         break_on_hyphens=False) or [indent.rstrip()]


def header(f: Failure, n: int, file: str, env: dict, tool: str) -> list[str]:
    out = [f"# compilecheck ticket, repro {n}: {f.title}"]
    if f.finding:
        where = f" at {f.finding['where']}" if f.finding.get("where") else ""
        out += _comment(f"compilecheck's finding: {f.finding['class']}{where}: "
                        f"{f.finding['detail']}")
    if f.predicted:
        why = (f"its CUDA-graphs-off cell showed the finding above, which CUDA graphs turn "
               f"into {f.cls}" if f.finding else
               f"any module called the '{f.cell.pattern}' way: "
               f"{PATTERNS[f.cell.pattern].cpu_note or ''}")
        out += _comment("Predicted, not measured: this cell needs CUDA graphs on a CUDA "
                        f"device, which the run did not have; {why}.")
    elif f.cell.error:
        out += _comment(f"The run's error: {f.cell.error}")
    run = ", ".join(f"{k} {env[k]}" for k in ("torch", "python", "platform", "device", "gpu",
                                               "cuda", "driver") if env.get(k))
    out += _comment(f"The run: {run}; {env.get('date') or 'date not recorded'}; {tool}"
                    + (f": `compilecheck {env['argv']}`" if env.get("argv") else ""))
    cfg = f"; shape {f.spec.shape}" if f.spec.probe is None else ""
    out += _comment(f"The cell: seed {f.spec.seed}, {f.calls} compiled call(s) called the "
                    f"'{f.spec.pattern}' way ({PATTERNS[f.spec.pattern].summary}), "
                    f"{f.warmup} eager warm-up call(s) before torch.compile{cfg}")
    out += _comment(f"Needs torch and {needs(f.spec)}; not compilecheck.")
    out += [f"# Run: python {file}",
            '# It ends with one line: exit 1 "reproduced: ...", exit 0 "not reproduced here", '
            'exit 2 "cannot run here: ...".']
    return out


def script(f: Failure, n: int, file: str, env: dict, tool: str, timeout: float) -> str:
    head, build = _build_source(f.spec)
    extra = dict(f.spec.env)
    return "\n".join([
        "#!/usr/bin/env python3", *header(f, n, file, env, tool),
        "from __future__ import annotations", "", "import os", "import sys", "",
        f"ENV = {pprint.pformat(extra)}  # the cell's environment, set before torch is imported",
        "os.environ.update(ENV)", "", "import torch  # noqa: E402", "",
        f"CELL = {pprint.pformat(cell_constants(f, timeout), sort_dicts=False, width=96)}",
        head, "", build, "",
        "# " + "-" * 70,
        "# The cell's run in torch alone (compilecheck's run/standalone.py and run/replay.py)",
        runtime(), "",
        'if __name__ == "__main__":', "    sys.exit(main(CELL, build))", ""])
