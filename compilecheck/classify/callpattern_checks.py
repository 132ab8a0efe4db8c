"""Detectors of the call-pattern classes: what the caller's way of calling does under CUDA
graphs (kept outputs, grad-enabled calls, calls from several threads). Measured on a GPU
with CUDA graphs on; without CUDA, grad is checked from what the calls show and the finding
says it is a prediction."""
from __future__ import annotations

from ..vocab.findings import Finding
from ..vocab.messages import PENDING_BACKWARD_RE, THREAD_TLS_RE


def kept_outputs(o) -> list[Finding]:
    kept = o.obs.get("kept")
    if not kept or not kept["problems"]:
        return []
    parts = []
    for p in kept["problems"][:3]:
        if "error" in p:
            parts.append(f"the output of call {p['call'] + 1} raised when read after later "
                         f"calls ({p['error'][:160]})")
        else:
            by = f" by up to {p['changed_by']:.3g}" if p.get("changed_by") is not None else ""
            parts.append(f"the output of call {p['call'] + 1} changed{by} after later calls, "
                         "with no error")
    same = kept.get("same_object", 0)
    return [Finding("kept_output_overwritten",
                    "; ".join(parts) + f". {same} call(s) returned the very tensor object an "
                    "earlier call returned: a CUDA-graph replay writes its outputs into the "
                    "same memory every time.")]


def never_recorded(o) -> list[Finding]:
    if getattr(o.spec, "pattern", "loop") != "grad":
        return []
    calls = o.obs.get("calls") or []
    if not any(c.get("requires_grad") for c in calls):
        return []  # nothing records autograd: CUDA graphs are not held back
    params = (o.obs.get("grad") or {}).get("params_requiring_grad", 0)
    why = (f"called with grad enabled: {params} parameter(s) require grad and the outputs "
           "require grad, so autograd records every call")
    if o.spec.cudagraphs and o.spec.device == "cuda":
        recorded = sum(n or 0 for n in (o.obs.get("cudagraphs_recorded") or {}).values())
        warned = [w for w in o.obs.get("warnings", []) if PENDING_BACKWARD_RE.search(w)]
        if recorded and not warned:
            return []
        said = f"; torch warned: {warned[0][:200]}" if warned else ""
        return [Finding("cudagraph_never_recorded",
                        f"{why}: cudagraph trees recorded {recorded} CUDA graph(s) over "
                        f"{len(calls)} calls{said}. The policy ran without CUDA graphs.")]
    return [Finding("cudagraph_never_recorded",
                    f"{why}. Under CUDA graphs (predicted: none on this machine) cudagraph "
                    "trees would wait for a backward that never comes and record no graph: "
                    "the policy would run without CUDA graphs, slower, with no error.",
                    predicts="cudagraph_never_recorded")]


def threads(o) -> list[Finding]:
    if getattr(o.spec, "pattern", "loop") != "threads":
        return []
    names = sorted({c["thread"] for c in o.obs.get("calls") or []})
    err = o.error
    if err and THREAD_TLS_RE.search(err.get("traceback", "")):
        return [Finding("cudagraph_threads",
                        f"the compiled module failed when called from thread {names[0]}: "
                        f"{err['type'].rsplit('.', 1)[-1]} inside cudagraph trees (torch "
                        "before 2.13 sets a tree up per thread and refuses a first call from "
                        "a thread it has not set up).")]
    recorded = o.obs.get("cudagraphs_recorded") or {}
    if len([n for n in recorded.values() if n]) > 1:
        per = ", ".join(f"{t}: {n}" for t, n in recorded.items())
        return [Finding("cudagraph_threads",
                        f"called from {len(names)} threads ({', '.join(names)}): each thread "
                        f"recorded its own CUDA graphs ({per}), with its own warm-up, "
                        "recording and memory pool, while generations are process-wide.")]
    return []
