"""The state audit never fails on a user's or a library's objects (issue 26, point 1).

Any dunder of an object a module holds may raise, lie or never end (``__len__`` raising
NotImplementedError, as a real library's tuple subclass does; ``__eq__`` returning a tensor;
``__getattr__`` building a new object on every lookup; a ``__class__`` or ``__dict__``
property that raises; an ``__iter__`` that never stops). Hostile classes are generated in many
shapes (hypothesis), hung off a module in every place the walk looks (attributes, lists,
dicts, tuples, nested objects, hooks, call arguments), and the walk, the diff, the checkpoint
and the audit must go on, still seeing the module's real writes. One real diagnosis of such a
module compiles it and reports what torch did, with no internal error.
"""
import itertools
import types

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from compilecheck.observe.audit import run_audit  # noqa: E402
from compilecheck.observe.statediff import Checkpoint, diff  # noqa: E402
from compilecheck.observe.statewalk import walk  # noqa: E402


class Boom(Exception):
    """A library's own exception type."""


def _raises(exc):
    def f(self, *a, **kw):
        raise exc("refused")
    return f


def _forever(self):
    return itertools.count()


def _new_object(self, name):
    return types.SimpleNamespace(made=name)


BEHAVIOURS = {
    "raise_notimpl": lambda: _raises(NotImplementedError),
    "raise_runtime": lambda: _raises(RuntimeError),
    "raise_custom": lambda: _raises(Boom),
    "raise_attr": lambda: _raises(AttributeError),
    "returns_tensor": lambda: (lambda self, *a: torch.ones(2)),
    "returns_none": lambda: (lambda self, *a: None),
    "returns_negative": lambda: (lambda self, *a: -1),
}
DUNDERS = ("__len__", "__iter__", "__eq__", "__ne__", "__hash__", "__repr__", "__str__",
           "__bool__", "__getitem__", "__contains__", "__reduce_ex__", "__lt__")
BASES = (object, tuple, list, dict, set, int, str, float)


@st.composite
def hostile_class(draw):
    base = draw(st.sampled_from(BASES))
    chosen = draw(st.lists(st.sampled_from(DUNDERS), min_size=1, max_size=6, unique=True))
    body = {d: BEHAVIOURS[draw(st.sampled_from(sorted(BEHAVIOURS)))]() for d in chosen}
    if "__iter__" in chosen and draw(st.booleans()):
        body["__iter__"] = _forever  # lies: an iterator that never ends
    if draw(st.booleans()):
        body["__getattr__"] = _new_object  # builds something on every lookup
    if draw(st.booleans()):
        body["__class__"] = property(_raises(RuntimeError))
    if base is object and draw(st.booleans()):
        body["__dict__"] = property(_raises(Boom))
    if base is object and draw(st.booleans()):
        body["__slots__"] = ("a", "b")
    return type(f"Hostile{base.__name__.title()}", (base,), body), base


def _instance(cls, base):
    if base is tuple:
        return tuple.__new__(cls, (1, torch.zeros(2), "x"))
    if base is list:
        obj = list.__new__(cls)
        list.__init__(obj, [1, torch.zeros(2)])
        return obj
    if base is dict:
        obj = dict.__new__(cls)
        dict.__init__(obj, {"k": torch.zeros(2), 3: "v"})
        return obj
    if base is set:
        obj = set.__new__(cls)
        set.__init__(obj, {1, 2})
        return obj
    if base in (int, str, float):
        return base.__new__(cls, base(7))
    obj = object.__new__(cls)
    for name in ("a", "b"):
        try:
            object.__setattr__(obj, name, torch.zeros(2))
        except (AttributeError, TypeError):
            pass
    return obj


class Counter:
    def __init__(self):
        self.seen = 0


class Holder(torch.nn.Module):
    """A real layer beside hostile objects; forward writes two things the audit must see."""

    def __init__(self, hostile):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)
        self.calls = Counter()
        self.__dict__["direct"] = hostile  # nn.Module.__setattr__ itself asks isinstance()
        self.listed = [hostile, torch.zeros(1)]
        self.mapped = {"h": hostile}
        self.nested = types.SimpleNamespace(inner=hostile)
        self.register_buffer("total", torch.zeros(4))

    def forward(self, x, extra=None):
        self.calls.seen += 1
        self.total.add_(x.sum(0))
        return self.lin(x)


class HookObject:
    def __init__(self, hostile):
        self.hostile = hostile
        self.steps = 0

    def __call__(self, module, args):
        self.steps += 1


@settings(max_examples=60, deadline=None, derandomize=True)
@given(hostile_class(), st.sampled_from(["attribute", "argument", "hook"]))
def test_the_audit_goes_on_through_any_hostile_object(made, place):
    cls, base = made
    hostile = _instance(cls, base)
    m = Holder(hostile)
    if place == "hook":
        m.lin.register_forward_pre_hook(HookObject(hostile))
    extra = hostile if place == "argument" else None
    xs = [torch.randn(3, 4) for _ in range(4)]

    before = walk(m, data=True, args=(xs[0], extra))
    m(xs[0], extra)
    after = walk(m, data=True, args=(xs[0], extra))
    changed = {c.path for c in diff(before, after)}
    assert {"calls.seen", "total"} <= changed
    Checkpoint(m, ["total"]).restore()

    audit = run_audit(m, lambda i: (xs[i % 4], extra))
    assert audit.error is None, audit.error
    paths = {w.path: w for w in audit.writes}
    assert paths["calls.seen"].calls == "every" and paths["total"].kind == "inplace"
    if place == "hook":
        assert paths["lin.forward_pre_hooks[HookObject].steps"].changed == "every"
    for path, why in audit.opaque.items():  # only what truly refused, said in words
        assert "raised" in why, (path, why)
    if isinstance(cls.__dict__.get("__dict__"), property):  # unreadable: opaque, and said so
        assert "direct" in audit.opaque and "Boom" in audit.opaque["direct"]


class LenlessTuple(tuple):
    """As a real library's tuple subclass: len() is refused."""

    def __len__(self):
        raise NotImplementedError


class TensorEq:
    def __init__(self):
        self.w = torch.ones(2)

    def __eq__(self, other):
        return torch.ones(2)

    __hash__ = object.__hash__


class Builder:
    def __getattr__(self, name):
        return Builder()


class Legal(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(8, 8)
        self.shape_spec = LenlessTuple((2, 4))
        self.eq = TensorEq()
        self.builder = Builder()

    def forward(self, x):
        return self.lin(x).relu()


def test_a_legal_library_object_compiles_cleanly_through_diagnose():
    """The case that made every compiled cell an internal error: the module compiles
    cleanly, and the report says so."""
    from compilecheck.api import check

    torch.manual_seed(0)
    report = check(Legal(), (torch.randn(4, 8),), modes=["default"], cudagraphs="off",
                   call_patterns=["loop"])
    compiled = [c for c in report.cells if c.mode == "default" and c.status != "skip"]
    assert compiled and all(c.status == "pass" for c in compiled), \
        [(c.status, c.error) for c in compiled]
    assert all(c.traceback is None and c.graphs == 1 for c in compiled)
    assert report.recommendation["name"] != "no-compile"
