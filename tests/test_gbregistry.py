"""gbregistry against the installed torch: real compiles that break, real log wordings."""
import importlib.util
import json
import os
import re
import time

import pytest
import torch

from compilecheck.classify import gbregistry

LINK = re.compile(r"https://\S+/gb/gb(\d{4})\.html")


def breaks_of(fn, *args):
    """dynamo's own graph_break counter keys for one real compile of fn."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    torch.compile(fn, backend="eager")(*args)
    return list(counters["graph_break"])


@torch._dynamo.disable
def _disabled(x):
    return x + 1


def _print(x):
    print("side effect")
    return x.sin()


def _disable(x):
    return _disabled(x.cos())


def _item(x):
    if x.sum().item() > 0:
        return x + 1
    return x - 1


def _skipped(x):  # time.perf_counter is a C builtin dynamo marks as skipped
    time.perf_counter()
    return x.sin()


def _nonzero(x):
    return x.nonzero() + 1


def test_registry_comes_from_the_installed_torch():
    path = gbregistry.registry_path()
    torch_dir = os.path.dirname(importlib.util.find_spec("torch").origin)
    assert path == os.path.join(torch_dir, "_dynamo", "graph_break_registry.json")
    with open(path) as f:
        assert len(gbregistry.load()) == len(json.load(f)) > 400


@pytest.mark.parametrize("fn,gb_type", [
    (_print, "Failed to trace builtin operator"),
    (_disable, "Skip calling `torch.compiler.disable()`d function"),
    (_item, "Unsupported Tensor.item() call with capture_scalar_outputs=False"),
    (_skipped, "Attempted to call function marked as skipped"),
    (_nonzero, "Dynamic shape operator"),
])
def test_real_graph_breaks_get_their_code(fn, gb_type):
    keys = breaks_of(fn, torch.randn(8))
    assert keys, "the function was meant to break"
    key = next(k for k in keys if k.startswith(gb_type))
    entry = gbregistry.lookup(key)
    linked = LINK.search(key)
    assert entry["type"] == gb_type
    if linked:  # torch names the code in its link: ours is the same code and page
        assert entry["code"] == f"GB{linked.group(1)}"
        assert entry["url"] == linked.group(0)
    assert entry["url"].endswith(f"/gb/gb{entry['code'][2:]}.html")
    assert entry["explanation"] and isinstance(entry["hints"], list)
    # the same break pasted without its link (a common excerpt) still finds the code
    bare = key.split("\n\n For more details")[0]
    assert gbregistry.lookup(bare)["code"] == entry["code"]
    # ... and so does the break type alone, quoted in prose
    assert gbregistry.lookup(f"we hit `{gb_type}` in forward")["code"] == entry["code"]


def test_hints_are_whole_sentences():
    key = breaks_of(_item, torch.randn(8))[0]
    hints = gbregistry.lookup(key)["hints"]
    # torch's message prints this hint as one line: the registry's three pieces joined
    assert any(h.startswith("Set `torch._dynamo.config.capture_scalar_outputs = True` or "
                            "`export TORCHDYNAMO_CAPTURE_SCALAR_OUTPUTS=1` to include")
               for h in hints), hints
    assert f"Hint: {hints[0]}" in key


@pytest.mark.parametrize("text,gb_type", [
    # torch 2.0 - 2.4 wordings, before the registry
    ("torch._dynamo.exc.Unsupported: call_function BuiltinVariable(print) "
     "[ConstantVariable(str)] {}", "Failed to trace builtin operator"),
    ("Unsupported: 'inline in skipfiles: Logger.info | info /usr/lib/python3.10/logging/"
     "__init__.py, skipped according skipfiles.SKIP_DIRS'",
     "Attempted to inline function marked as skipped"),
    ("torch._dynamo.exc.Unsupported: generic_jump TensorVariable()", "Data-dependent branching"),
    ("Graph Break Reason: Tensor.item", None),
    ("torch._dynamo.exc.Unsupported: dynamic shape operator: aten.nonzero.default",
     "Dynamic shape operator"),
    # variables/base.py's call_method and builtin.py's call_id before 2.7
    ("torch._dynamo.exc.Unsupported: call_method UserDefinedObjectVariable(set) __contains__ "
     "[UserDefinedObjectVariable()] {}", "Unsupported method call"),
    ("torch._dynamo.exc.Unsupported: call_id with args (NestedUserFunctionVariable(),)",
     "id() with unsupported args"),
    # ... a method named before them keeps its own entry
    ("torch._dynamo.exc.Unsupported: call_method UserDefinedObjectVariable(Logger) "
     "warning_once [ConstantVariable()] {}",
     "logging.Logger method not supported for non-export cases"),
])
def test_older_wordings(text, gb_type):
    entry = gbregistry.lookup(text)
    assert entry is not None
    if gb_type:
        assert entry["type"] == gb_type
    assert re.fullmatch(r"GB\d{4}", entry["code"])


def test_code_first_and_no_match():
    assert gbregistry.lookup("see GB0098 for this one")["type"].startswith("Skip calling")
    assert gbregistry.lookup("epoch 3: loss 0.12, all good") is None
    assert gbregistry.lookup("") is None


def test_a_torch_without_registry_gives_none(monkeypatch):
    monkeypatch.setattr(gbregistry, "registry_path", lambda: None)
    for f in (gbregistry.load, gbregistry._index, gbregistry.lookup):
        f.cache_clear()
    try:
        assert gbregistry.lookup("Failed to trace builtin operator") is None
    finally:
        monkeypatch.undo()
        for f in (gbregistry.load, gbregistry._index, gbregistry.lookup):
            f.cache_clear()
    assert gbregistry.lookup("Failed to trace builtin operator")["code"] == "GB0059"


def test_summary_line_for_a_report():
    key = breaks_of(_print, torch.randn(8))[0]
    line = gbregistry.summary(key)
    assert line.startswith("GB0059 Failed to trace builtin operator (https://")
    assert line.endswith("/gb/gb0059.html)")
    assert gbregistry.summary("nothing about graphs here") is None
