"""What explain found: one result that prints itself (like torch._dynamo.explain's), with
the root cause first and each graph break's entry in torch's registry."""
from __future__ import annotations

import dataclasses

from ..vocab.findings import CLASSES
from .linetext import EXPLAIN_ORDER, TIER

@dataclasses.dataclass
class Hit:
    cls: str
    line: int
    text: str
    raised: bool = False  # the exception itself (a graph break under fullgraph=True)
    gb: dict | None = None  # torch's registry entry, for a graph break

    def to_json(self) -> dict:
        out = {"class": self.cls, "line": self.line, "text": self.text}
        if self.gb:
            out.update(code=self.gb["code"], gb_type=self.gb["type"],
                       explanation=self.gb["explanation"], hints=self.gb["hints"],
                       url=self.gb["url"])
        return out




@dataclasses.dataclass
class Explanation:
    """One result that prints itself, like torch._dynamo.explain's."""

    findings: list
    counts: dict
    lines_read: int
    hints: dict

    @property
    def primary(self) -> str | None:
        best = None
        for h in self.findings:
            tier = TIER["compile_error"] if h.raised else TIER[h.cls]
            key = (tier, h.line)
            if best is None or key < best[0]:
                best = (key, h.cls)
        return best[1] if best else None

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
            out.update(cause=CLASSES[p].cause, fix=CLASSES[p].fix, rung=CLASSES[p].rung)
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
        out = [f"Primary: {p}", f"  cause: {c.cause}", f"  fix:   {c.fix}",
               f"  rung:  {c.rung} (see docs/ladder.md)"]
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
                out.append(f"    line {h.line}: {h.text[:160]}")
            if self.counts[cls] > 5:
                out.append(f"    ... {self.counts[cls] - 5} more")
        breaks = [b for b in self.graph_breaks() if b.get("code")]
        if breaks:
            out.append("")
            out.append("Graph breaks in torch's registry:")
            for b in breaks:
                where = ", ".join(str(n) for n in b["lines"][:5])
                out.append(f"  {b['code']} {b['type']} (line {where})")
                if b["explanation"]:
                    out.append(f"    why:  {b['explanation'][:300]}")
                for hint in b["hints"][:3]:
                    out.append(f"    hint: {hint[:300]}")
                out.append(f"    see:  {b['url']}")
        return "\n".join(out)
