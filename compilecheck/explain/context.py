"""The lines after a finding that belong to its message: a graph break's type, `Explanation:`,
`Hint:` lines and the page of its registry code; the same structure after an exception torch
raises (2.7 and later: a TorchRuntimeError names its break type and explains it the same way).

All the lines of one message get the message's registry entry (classify/gbregistry.py) and
torch's structured error (vocab/messages.structured_error): its explanation, hints and code.
"""
from __future__ import annotations

from ..classify import gbregistry
from ..vocab.messages import structured_error, torch_advice, torch_cause
from .linetext import _BREAK_START, _EXC_START, _EXPLANATION

CONTEXT = 14  # lines after a finding read for the rest of its message
ERRORS = ("compile_error", "runtime_error")
_ENDS = ("from user code:", "Set TORCHDYNAMO_VERBOSE", "Traceback (most recent call last)",
         "The above exception", "During handling of")


class Contexts:
    """The messages being read: each [hits, lines left, [texts], complete]."""

    def __init__(self):
        self.open: list = []

    def start(self, hit, shown: str, exception_line: bool) -> bool:
        """A finding whose message may go on below it: True when a new message starts (the
        caller reads the next CONTEXT lines whatever the screen says)."""
        if hit.cls == "graph_break":
            if self.open and not (_BREAK_START.match(shown) and self.open[-1][3]):
                self.open[-1][0].append(hit)  # a line inside the message before
                return False
        elif self.open and not exception_line:
            self.open[-1][0].append(hit)
            return False
        self.open.append([[hit], CONTEXT, [shown], False])
        return True

    def in_error_message(self, text: str) -> bool:
        """Is this line the footer of an error's message being read (torch ends a
        TorchRuntimeError with "For more details about this graph break ...")?"""
        return bool(self.open and text.startswith("For more details about this graph break")
                    and self.open[-1][0][0].cls in ERRORS)

    def feed(self, text: str):
        keep = []
        for ctx in self.open:
            hits, left, texts, complete = ctx
            if text and texts[-1] is not text:
                if (complete and _BREAK_START.match(text)) or text.startswith(_ENDS):
                    left = 0  # the next message starts, or torch's own footer
                else:
                    texts.append(text)
                    left -= 1
                    if gbregistry.GB_CODE.search(text):
                        left = 0  # the page of its code ends torch's message
                    elif _EXPLANATION.match(text) or gbregistry.lookup_type(text):
                        ctx[3] = True
            ctx[1] = left
            if left > 0:
                keep.append(ctx)
            else:
                self.close(ctx)
        self.open = keep

    def close_all(self):
        for ctx in self.open:
            self.close(ctx)
        self.open = []

    @staticmethod
    def close(ctx):
        joined = "\n".join(ctx[2])
        torch = structured_error(joined)
        if any(h.cls == "graph_break" for h in ctx[0]):
            gb = gbregistry.lookup(joined)
        else:
            gb = gbregistry.of_error(torch)
        words = dict(torch or {}, cause=torch_cause(joined), advice=torch_advice(joined))
        if not torch and not words["advice"] and not _EXC_START.match(ctx[2][0]):
            words = None  # a line of code or prose, not torch's message
        for hit in ctx[0]:
            if hit.cls in ("graph_break",) + ERRORS:
                hit.gb = gb
                hit.torch = words
