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
    every = getattr(torch._C, "_dispatch_get_all_op_names", None)  # all registered ops
    names = {n[6:].split(".")[0] for n in every() if n.startswith("aten::")} if every \
        else set(dir(torch.ops.aten))
    for name in sorted(names):
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


def _arg(node, name: str, index: int, default):
    return node.kwargs.get(name, node.args[index] if len(node.args) > index else default)


def random_op(node) -> str | None:
    """The random op a graph node calls (``uniform_``, ``dropout``), or None; what draws only
    with a dropout probability or in training draws nothing where the graph runs it with
    ``p=0``, ``dropout_p=0`` (attention's default) or ``training=False``."""
    if node.op == "call_method":
        name = node.target
    elif node.op == "call_function":
        name = getattr(node.target, "__name__", "")
    else:
        return None
    if not isinstance(name, str) or name not in seeded_ops():
        return None
    if "attention" in name:  # F.scaled_dot_product_attention(q, k, v, mask, dropout_p)
        return name if _arg(node, "dropout_p", 4, 0.0) not in (0, 0.0, None) else None
    if "dropout" in name:  # F.dropout(input, p=0.5, training=True)
        if _arg(node, "training", 2, True) is False or _arg(node, "p", 1, 0.5) == 0:
            return None
    if name.startswith("rrelu"):  # F.rrelu(input, lower, upper, training=False)
        return name if _arg(node, "training", 3, False) is True else None
    return name
