"""Which operations of a dynamo graph draw random numbers: torch tags its seeded aten ops
(``torch.Tag.nondeterministic_seeded``: rand, randn, uniform_, normal_, bernoulli, dropout,
multinomial, ...), and a graph node names the torch function or tensor method it calls. Inductor
draws from its own random stream (unless ``torch._inductor.config.fallback_random``), so a
compiled output that depends on these values differs from eager's: the cause of a numeric
mismatch a user can check in one line."""
from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=1)
def seeded_ops() -> frozenset:
    """The names of aten ops torch tags as drawing from the random generator."""
    tag = getattr(torch.Tag, "nondeterministic_seeded", None)
    if tag is None:  # an older torch without the tag
        return frozenset()
    out = set()
    for name in dir(torch.ops.aten):
        if name.startswith("__"):
            continue
        try:
            packet = getattr(torch.ops.aten, name)
            overloads = [getattr(packet, o) for o in packet.overloads()]
        except Exception:  # noqa: BLE001 - not an op packet
            continue
        if any(tag in o.tags for o in overloads):
            out.add(name)
    return frozenset(out - {"gru", "lstm", "rnn_relu", "rnn_tanh", "miopen_rnn"})


def random_op(node) -> str | None:
    """The random op a graph node calls (``uniform_``, ``dropout``), or None; a dropout that
    the graph runs with ``training=False`` or ``p=0`` draws nothing."""
    if node.op == "call_method":
        name = node.target
    elif node.op == "call_function":
        name = getattr(node.target, "__name__", "")
    else:
        return None
    if not isinstance(name, str) or name not in seeded_ops():
        return None
    if "dropout" in name:
        training = node.kwargs.get("training", node.args[2] if len(node.args) > 2 else True)
        p = node.kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
        if training is False or p == 0:
            return None
    return name
