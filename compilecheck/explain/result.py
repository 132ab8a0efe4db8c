"""What explain found: one result that prints itself (like torch._dynamo.explain's), with
the root cause first, torch's own words about it first (its explanation and hints, the phase
its traceback says, its registry code), and each graph break's entry in torch's registry."""
from __future__ import annotations

import dataclasses

from ..vocab.findings import CLASSES
from ..vocab.messages import HIDES_FAILURE_RE
from .linetext import _EXC_START, EXPLAIN_ORDER, TIER
from .textpatterns import in_own_words, in_words_only


@dataclasses.dataclass
class Hit:
    cls: str
    line: int
    text: str
    raised: bool = False  # the exception itself (a graph break under fullgraph=True)
    gb: dict | None = None  # torch's registry entry, for a graph break or an error with a code
    phase: dict | None = None  # the phase an error came from (explain/phase.py)
    torch: dict | None = None  # torch's words: structured error, cause, advice (context.py)
    torch_hint: str | None = None  # a hint torch wrote on the line itself (a guard's HINT)

    def advice(self) -> list:
        """What torch says to do, in its order (a fix that only hides the failure last)."""
        said = list((self.torch or {}).get("advice") or [])
        if self.torch_hint:
            said.append(self.torch_hint)
        if not said and self.gb and self.cls == "graph_break":
            said = [h for h in self.gb["hints"] if "{" not in h]
        return said

    def to_json(self) -> dict:
        out = {"class": self.cls, "line": self.line, "text": self.text}
        if self.gb:
            out.update(code=self.gb["code"], gb_type=self.gb["type"],
                       explanation=self.gb["explanation"], hints=self.gb["hints"],
                       url=self.gb["url"])
        if self.phase:
            out["phase"] = dict(self.phase)
        if self.torch or self.torch_hint:
            out["torch"] = {"cause": (self.torch or {}).get("cause"),
                            "explanation": (self.torch or {}).get("explanation"),
                            "hints": (self.torch or {}).get("hints") or [],
                            "advice": self.advice()}
        return out


@dataclasses.dataclass
class Explanation:
    """One result that prints itself, like torch._dynamo.explain's."""

    findings: list
    counts: dict
    lines_read: int
    hints: dict

    @property
    def primary_hit(self) -> Hit | None:
        best = self._best(self.findings)
        if best is not None and in_words_only(best.cls, best.text):
            # a class only people's words name yields to one torch's own message names
            own = [h for h in self.findings if in_own_words(h.cls, h.text)]
            return self._best(own) or best
        return best

    @staticmethod
    def _best(hits) -> Hit | None:
        best = None
        for h in hits:
            tier = TIER["compile_error"] if h.raised else TIER[h.cls]
            key = (tier, h.line)
            if best is None or key < best[0]:
                best = (key, h)
        return best[1] if best else None

    @property
    def primary(self) -> str | None:
        hit = self.primary_hit
        return hit.cls if hit else None

    def _words_of(self, cls: str) -> Hit | None:
        """The finding of a class that carries torch's words, else its first exception line
        (not a frame's `raise ...` source line), else its first."""
        hits = [h for h in self.findings if h.cls == cls]
        return next((h for h in hits if h.torch or h.torch_hint),
                    next((h for h in hits if _EXC_START.match(h.text)),
                         hits[0] if hits else None))

    def cause_and_fix(self) -> tuple:
        """(cause lines, fix lines): torch's words first, explain's class sentence after; a
        fix that only hides the failure never before one torch names."""
        p = self.primary
        c = CLASSES[p]
        hit = self._words_of(p)
        cause, fix = [], []
        said = (hit.torch or {}).get("cause") if hit else None
        if said:
            cause.append(f"torch: {said}")
        cause.append(c.cause)
        advice = hit.advice() if hit else []
        fix += [f"torch: {a}" for a in advice if not HIDES_FAILURE_RE.search(a)]
        fix.append(c.fix if not fix else f"else: {c.fix}")
        fix += [f"torch: {a}" for a in advice if HIDES_FAILURE_RE.search(a)]
        return cause, fix

    def graph_breaks(self) -> list:
        """The graph breaks by registry entry: code, type, explanation, hints, url, lines."""
        by = {}
        for h in self.findings:
            if h.cls == "graph_break":
                key = h.gb["code"] if h.gb else None
                entry = by.setdefault(key, dict(h.gb or {"code": None}, lines=[]))
                entry["lines"].append(h.line)
        return list(by.values())

    def to_json(self) -> dict:
        p = self.primary
        out = {"primary": p,
               "findings": [h.to_json() for h in self.findings],
               "counts": self.counts, "lines_read": self.lines_read}
        if p:
            cause, fix = self.cause_and_fix()
            out.update(cause=" ".join(cause), fix=" ".join(fix), rung=CLASSES[p].rung)
            hit = self._words_of(p)
            if hit.phase:
                out["phase"] = dict(hit.phase)
            if hit.gb:
                out["code"] = hit.gb["code"]
        breaks = self.graph_breaks()
        if breaks:
            out["graph_breaks"] = breaks
        return out

    def __str__(self) -> str:
        p = self.primary
        if p is None:
            return (f"compilecheck explain: nothing in the finding vocabulary in "
                    f"{self.lines_read} lines.")
        c = CLASSES[p]
        cause, fix = self.cause_and_fix()
        hit = self._words_of(p)
        out = [f"Primary: {p}", f"  cause: {cause[0]}"] + [f"         {x}" for x in cause[1:]]
        out += [f"  fix:   {fix[0]}"] + [f"         {x}" for x in fix[1:]]
        after = "; only after torch's fix above: it hides the failure" if \
            c.rung == "suppress-errors" and fix[0].startswith("torch:") else ""
        out.append(f"  rung:  {c.rung} (see docs/ladder.md{after})")
        if hit.phase:
            out.append(f"  phase: {hit.phase['name']} ({hit.phase['how']})")
        if hit.gb and p != "graph_break":
            out.append(f"  code:  {hit.gb['code']} {hit.gb['type']} ({hit.gb['url']})")
        if p in self.hints:
            out.append(f"  note:  {self.hints[p]}")
        out.append("")
        out.append(f"Findings ({sum(self.counts.values())} of {self.lines_read} lines):")
        for cls in EXPLAIN_ORDER:
            hits = [h for h in self.findings if h.cls == cls]
            if not hits:
                continue
            note = f" {self.hints[cls]}" if cls in self.hints else ""
            out.append(f"  {cls} ({self.counts[cls]}){note}")
            for h in hits[:5]:
                code = f" [{h.gb['code']}]" if h.gb and cls != "graph_break" else ""
                out.append(f"    line {h.line}: {h.text[:160]}{code}")
            if self.counts[cls] > 5:
                out.append(f"    ... {self.counts[cls] - 5} more")
        breaks = [b for b in self.graph_breaks() if b.get("code")]
        if breaks:
            out.append("")
            out.append("Graph breaks in torch's registry:")
            for b in breaks:
                where = ", ".join(str(n) for n in b["lines"][:5])
                out.append(f"  {b['code']} {b['type']} (line {where})")
                if b["explanation"] and b["explanation"] != b["type"]:
                    out.append(f"    why:  {b['explanation'][:300]}")
                for hint in b["hints"][:3]:
                    out.append(f"    hint: {hint[:300]}")
                out.append(f"    see:  {b['url']}")
        return "\n".join(out)
