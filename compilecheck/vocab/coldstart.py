"""The cold-start rows: each way to cut the first call's compile, one small entry each (what it
changes, whether it keeps numerics, the line to paste). run/coldstart.py measures each in a
fresh process with its own cache folders; decide/coldstart.py weighs them."""
from __future__ import annotations

import dataclasses

DEFAULT_CALLS = 500  # policy calls per episode, when --calls is not given


@dataclasses.dataclass(frozen=True)
class ColdRow:
    name: str
    changes: str  # what it changes, for the user
    keeps_numerics: bool  # the same computation (the measured error still decides)
    do_this: str  # one line to paste; {mode} {region} {cls} filled in from the measurement
    cache: str = "own"  # own (a fresh empty folder) | the name of the row whose folder it reuses
    needs: str = ""  # the row that must have run first (its files are this row's input)
    user_change: int = 0  # 0: none, 1: the deployment, 2: the call site, 3: the module's code
    do_this_method: str = ""  # where the region is a method, not a module class's forward:
    # {target} (model.path.to.owner), {fn} (the method) and {cls} (its class) filled in


ROWS = (
    ColdRow("as-deployed", "nothing: the whole module compiled cold, as deployed", True,
            "model = torch.compile(model, mode={mode!r})  # as now"),
    ColdRow("warm-cache", "a second process on the cache folder the first one left", True,
            "export TORCHINDUCTOR_CACHE_DIR=/var/cache/torchinductor  # a folder that survives "
            "restarts (also TRITON_CACHE_DIR)", cache="as-deployed", needs="as-deployed",
            user_change=1),
    ColdRow("cache-artifacts", "the first process's caches saved as bytes, loaded into a fresh "
            "process with an empty cache folder", True,
            "after the first call: open('compile_cache.bin', 'wb').write("
            "torch.compiler.save_cache_artifacts()[0]); at start-up, before the first call: "
            "torch.compiler.load_cache_artifacts(open('compile_cache.bin', 'rb').read())",
            needs="as-deployed", user_change=1),
    ColdRow("regional", "the repeated region the compile profile named (else each instance of "
            "the most repeated module class) compiled instead of the whole module", True,
            "[m.compile(mode={mode!r}) for m in model.modules() if isinstance(m, {cls})]"
            "  # instead of torch.compile(model)", user_change=2,
            do_this_method="{target}.{fn} = torch.compile({target}.{fn}, mode={mode!r})"
            "  # instead of torch.compile(model): traced once, reused on every run"),
    ColdRow("nested-region", "the whole module compiled, the repeated region (a method, or a "
            "repeated class's forward) marked with torch.compiler.nested_compile_region "
            "(traced once, reused)", True,
            "decorate {cls}.forward with @torch.compiler.nested_compile_region; keep "
            "torch.compile(model, mode={mode!r})", user_change=3,
            do_this_method="decorate {cls}.{fn} with @torch.compiler.nested_compile_region; "
            "keep torch.compile(model, mode={mode!r})"),
    ColdRow("aot", "compiled ahead of time in a build step (aot_compile, "
            "save_compiled_function), loaded in a fresh process with an empty cache folder", True,
            "build step: fn = torch.compile(model, mode={mode!r}, fullgraph=True).forward."
            "aot_compile((args, {{}})); fn.save_compiled_function('model.aot'); at start-up: "
            "fn = torch.compiler.load_compiled_function(open('model.aot', 'rb')); "
            "out = fn(model, *args)", user_change=2),
)

BY_NAME = {r.name: r for r in ROWS}
NAMES = tuple(BY_NAME)
