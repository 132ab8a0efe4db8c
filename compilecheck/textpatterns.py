"""The text side of the vocabulary: how each finding class shows in a log a user already has.

``PATTERNS[name]`` holds the class's regular expressions (each with an optional hint) and the
lowercase literals one of which any match contains (the cheap screen explain applies first).
"""
from __future__ import annotations

import dataclasses
import re

from .messages import CUDAGRAPH_SKIP_RE, OOM_TEXT, OVERWRITE_RE, PENDING_BACKWARD_RE, \
    RECOMPILE_LIMIT_RE


@dataclasses.dataclass(frozen=True)
class TextPatterns:
    patterns: tuple  # (regex, hint or None)
    keywords: tuple  # lowercase literals, one of which any match contains


PATTERNS: dict[str, TextPatterns] = {
    "cudagraph_overwrite": TextPatterns(((OVERWRITE_RE, None),), ("overwritten",)),
    "kept_output_overwritten": TextPatterns(
        ((re.compile(r"kept output (?:of call \d+ )?(?:changed|was overwritten)", re.I), None),),
        ("kept output",)),
    "oom": TextPatterns(((OOM_TEXT, None),),
                        ("memory", "outofmemory", "cublas_status_alloc")),
    "crash": TextPatterns(
        ((re.compile(r"Segmentation fault|core dumped|Fatal Python error|\bSIGSEGV\b|"
                     r"\bSIGABRT\b|terminate called after|worker died", re.I), None),),
        ("segmentation", "core dumped", "fatal python", "sigsegv", "sigabrt",
         "terminate called", "worker died")),
    "timeout": TextPatterns(
        ((re.compile(r"\btimed out\b|TimeoutError|\btimeout\b.*(exceeded|expired)", re.I),
          None),),
        ("timed out", "timeouterror", "timeout")),
    "compile_error": TextPatterns(
        ((re.compile(r"BackendCompilerFailed|InductorError|CppCompileError|LoweringException|"
                     r"GuardOnDataDependentSymNode|InternalTorchDynamoError|"
                     r"Could not guard on data-dependent|torch\._dynamo\.exc\.UserError|"
                     r"torch\._dynamo\.exc\.(Unsupported|TorchRuntimeError)|"
                     r"ptxas (fatal|error)|CompilationError|triton.*(error|failed)", re.I),
          None),),
        ("backendcompilerfailed", "inductorerror", "cppcompileerror", "loweringexception",
         "guardondatadependent", "internaltorchdynamoerror", "data-dependent", "usererror",
         "torch._dynamo.exc.", "ptxas", "compilationerror", "triton")),
    "state_mutation": TextPatterns(
        ((re.compile(r"(guard failure|^\s*-\s*\d+/\d+:|triggered by).*?"
                     r"(\bself\b|L\[['\"]self['\"]\])(\.\w+|\[['\"][\w.]+['\"]\])+", re.I),
          "recompile on a guard over module state"),),
        ("self",)),
    "numeric_mismatch": TextPatterns(
        ((re.compile(r"max abs (diff|err)|allclose\S*\s*(=|:|is|returned)?\s*False|"
                     r"Mismatched elements|accuracy (check )?fail|Accuracy failed|"
                     r"(tensors?|Tensor-likes|Scalars) (are|is) not close|fail_accuracy",
                     re.I), None),),
        ("abs diff", "abs err", "allclose", "mismatched elements", "accuracy", "not close",
         "fail_accuracy")),
    "recompile_limit": TextPatterns(
        ((RECOMPILE_LIMIT_RE, None),),
        ("recompile_limit", "cache_size_limit", "failonrecompilelimithit")),
    "runtime_error": TextPatterns(
        ((re.compile(r"quantile\(\) input tensor is too large"),
          "torch.quantile over more than 2**24 values: calibrate over fewer tokens "
          "(subsample) or use kthvalue"),
         (re.compile(r"^(?:[\w.]+\.)?(RuntimeError|ValueError|TypeError|AssertionError|"
                     r"IndexError|KeyError|AttributeError|CUDA error)\b:?\s*\S"), None)),
        ("quantile", "error")),
    "cudagraph_never_recorded": TextPatterns(((PENDING_BACKWARD_RE, None),),
                                             ("pending, uninvoked", "pending uninvoked")),
    "cudagraph_threads": TextPatterns(
        ((re.compile(r"cudagraph trees? .*(thread|same thread)|"
                     r"torch\._C\._is_key_in_tls|tree_manager_containers|"
                     r"assert.*threading\.get_ident", re.I), None),),
        ("thread", "_is_key_in_tls", "tree_manager")),
    "cudagraph_skipped": TextPatterns(((CUDAGRAPH_SKIP_RE, None),), ("cudagraph",)),
    "slow_compile": TextPatterns(((re.compile(r"\bslow_compile\b"), None),), ("slow_compile",)),
    "graph_break": TextPatterns(
        ((re.compile(r"\bgraph break\b|Graph Break Reason|__graph_breaks", re.I), None),),
        ("graph break", "__graph_breaks")),
    "recompile": TextPatterns(
        ((re.compile(r"Recompiling function|guard failure|size mismatch at index", re.I),
          None),),
        ("recompiling", "guard failure", "size mismatch")),
}
