"""The finding vocabulary: one class, one sentence of cause, one fix, the rung to try.

Each class has two sides: the observation side (classify/detectors.py) reads what a worker saw, the
text side (explain/textpatterns.py) reads a log a user already has. Adding a class is one
``FindingClass(...)`` entry here, plus its detector and its text patterns.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Finding:
    cls: str
    detail: str
    where: str | None = None
    attribute: str | None = None  # the dotted path of the module state it is about
    predicts: str | None = None  # what it becomes under CUDA graphs (a class), if it does
    instances: list | None = None  # the dotted paths of every module instance it covers
    code: str | None = None  # torch's graph-break registry code (GB0039), where it has one

    def to_json(self) -> dict:
        d = {"class": self.cls, "detail": self.detail, "where": self.where}
        d.update({k: v for k, v in (("attribute", self.attribute),
                                    ("predicts", self.predicts),
                                    ("instances", self.instances),
                                    ("code", self.code)) if v})
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Finding":
        return cls(d["class"], d.get("detail", ""), d.get("where"), d.get("attribute"),
                   d.get("predicts"), d.get("instances"), d.get("code"))


@dataclasses.dataclass(frozen=True)
class FindingClass:
    name: str
    severity: str  # "fail" or "warn"
    cause: str  # one sentence
    fix: str  # one sentence
    rung: str  # the ladder rung to try


CLASSES: dict[str, FindingClass] = {c.name: c for c in (
    FindingClass(
        "cudagraph_overwrite", "fail",
        "A tensor produced inside a CUDA-graph replay (typically module state assigned in "
        "forward) was read after the next replay overwrote its memory.",
        "Create the state before compiling (a few eager calls on the target device, or an "
        "explicit calibration) so forward only reads it; or compile without CUDA graphs.",
        "warm-up"),
    FindingClass(
        "kept_output_overwritten", "fail",
        "The caller kept an output of a CUDA-graph replay across calls; the next replay "
        "wrote into the same memory, so the kept tensor changed (or raises when read).",
        "Copy what you keep out of the compiled call (out.clone() or .cpu()) before the next "
        "call.",
        "full-fix"),
    FindingClass(
        "oom", "fail",
        "The cell ran out of memory (device or host).",
        "Use a smaller shape or batch, or free memory held by CUDA-graph pools (fewer "
        "distinct shapes, no reduce-overhead on a full card).",
        "no-cudagraphs"),
    FindingClass(
        "crash", "fail",
        "The process died (signal or exit) instead of raising an error.",
        "Run the cell alone with TORCH_LOGS=+dynamo,+inductor to see where; compile less "
        "(max-autotune-no-cudagraphs) or fall back to eager.",
        "no-compile"),
    FindingClass(
        "timeout", "fail",
        "The cell did not finish within its time limit (compile or a call hung).",
        "Raise --timeout if the compile is only slow (max-autotune tunes for minutes); "
        "otherwise compile a cheaper mode.",
        "no-compile"),
    FindingClass(
        "compile_error", "fail",
        "torch.compile failed while tracing or generating code for the graph.",
        "Read the first error line; TORCHDYNAMO_SUPPRESS_ERRORS=1 falls back to eager for "
        "compile-time failures only.",
        "suppress-errors"),
    FindingClass(
        "recompile_limit", "warn",
        "The function recompiled until torch's recompile limit and now runs in eager.",
        "Remove what changes each call (state, shapes); raising "
        "torch._dynamo.config.recompile_limit only hides it.",
        "warm-up"),
    FindingClass(
        "state_mutation", "warn",
        "Module state is assigned or replaced inside the compiled region; under CUDA graphs "
        "a stored tensor that a later call reads becomes the overwrite error.",
        "Run forward eagerly on the target device before torch.compile (warm-up) or "
        "calibrate, so the compiled forward only reads the state.",
        "warm-up"),
    FindingClass(
        "numeric_mismatch", "fail",
        "The compiled module computes something different from eager.",
        "Report it with the failing cell; compile a different mode, or run eager.",
        "no-compile"),
    FindingClass(
        "cudagraph_threads", "warn",
        "The compiled module is called from several threads: each thread gets its own "
        "cudagraph tree (warm-up, recording and memory pool) while generations are "
        "process-wide, and torch before 2.13 refuses such calls.",
        "Give each thread its own compiled callable and keep one caller per graph, or "
        "compile without CUDA graphs for a thread pool (max-autotune-no-cudagraphs).",
        "no-cudagraphs"),
    FindingClass(
        "runtime_error", "fail",
        "A call of the compiled module raised an error.",
        "Read the error; it is not suppressed by TORCHDYNAMO_SUPPRESS_ERRORS.",
        "no-compile"),
    FindingClass(
        "cudagraph_never_recorded", "warn",
        "The module was called with autograd recording (grad enabled, parameters that "
        "require grad): cudagraph trees wait for a backward that never comes and never "
        "record a graph, so the policy runs without CUDA graphs.",
        "Call the policy under torch.inference_mode() (or torch.no_grad()), or "
        "requires_grad_(False) on its parameters.",
        "full-fix"),
    FindingClass(
        "cudagraph_skipped", "warn",
        "inductor ran (part of) the graph without CUDA graphs; correct but slower.",
        "Remove the reason torch names (mutated inputs, CPU tensors, dynamic shapes), or "
        "accept the slower path.",
        "full-fix"),
    FindingClass(
        "slow_compile", "warn",
        "The first compile is long for the layer, because of what forward traces into "
        "the graph.",
        "Move one-time work (weight preparation, calibration, caches) out of forward or run "
        "it before compiling; vectorise Python loops over blocks.",
        "warm-up"),
    FindingClass(
        "graph_break", "warn",
        "dynamo split the function into several graphs around code it cannot trace.",
        "Move the untraceable code out of forward, or see TORCH_LOGS=graph_breaks.",
        "full-fix"),
    FindingClass(
        "recompile", "warn",
        "dynamo compiled the function again because a guard failed (shapes, strides, types).",
        "Mark the dimension dynamic or keep the inputs' shapes fixed.",
        "full-fix"),
    FindingClass(
        "random_stream", "warn",
        "The compiled output differs from eager only because the graph draws random numbers "
        "from inductor's stream, not eager's (measured: with fallback_random the outputs "
        "match).",
        "Nothing, where any draw is as good as another (dropout, augmentation, sampling "
        "noise); to compare with eager, set torch._inductor.config.fallback_random = True, "
        "or pass the random tensors in.",
        "full-fix"),
)}

# Root cause first: an explanation's primary finding is the first class here that it found (a
# recompile limit is the cause of the recompiles and guards before it; threads are the cause
# of the assertion cudagraph trees raise for them).
RANK = list(CLASSES)


def status_of(findings: list) -> str:
    sev = {CLASSES[f.cls].severity for f in findings if f.cls in CLASSES}
    return "fail" if "fail" in sev else "warn" if "warn" in sev else "pass"
