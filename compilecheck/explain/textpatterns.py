"""The text side of the vocabulary: how each finding class shows in a log a user already has.

``PATTERNS[name]`` holds the class's regular expressions, each with an optional hint and an
optional tag, and the lowercase literals one of which any match contains (the cheap screen
explain applies first). Tags:

- ``raised``: the line is the exception itself (``torch._dynamo.exc.Unsupported: ...``), not a
  logged warning; explain ranks a raised graph break like a compile error (fullgraph=True);
- ``needs_compile``: evidence that only counts in a log that mentions torch.compile at all
  (a NaN loss in a log about something else is not a compiled-vs-eager mismatch).

The patterns are written from torch's own message sources (torch/_dynamo/exc.py,
convert_frame.py, guards.py, torch/_inductor/cudagraph_trees.py, cudagraph_utils.py,
c10/cuda/CUDACachingAllocator.cpp, torch/testing/_comparison.py) and from the wrappers users
paste them through (vLLM, ComfyUI, pytest, TensorRT); they search anywhere in a line, so a
message quoted in prose, backticks or a bold markdown label is found as well as one at a
line start.
"""
from __future__ import annotations

import dataclasses
import re

from .wordpatterns import WORDS
from ..vocab.messages import (CUDAGRAPH_SKIP_RE, OOM_TEXT, OVERWRITE_RE, PENDING_BACKWARD_RE,
                       RECOMPILE_LIMIT_RE)


@dataclasses.dataclass(frozen=True)
class TextPatterns:
    patterns: tuple  # (regex, hint or None[, tag])
    keywords: tuple  # lowercase literals, one of which any match contains
    exclude: re.Pattern | None = None  # a line this matches is never the class
    near: bool = False  # the exclusion is of the words around each match, not of the line


I = re.I
# an exception name where a message starts: line start, after a quote, backtick, bold label,
# `E   ` (pytest), `- ` (pytest summary) or a colon (one exception wrapping another)
_AT = r"(?:^|(?<=[\s`'\"*>(|:]))"

# a line that says there is no NaN, or code that makes or tests one, is not a NaN found
_NO_NAN = (r"^(?!.*(?:\b(?:no|not|without|never|zero|free of|avoid\w*|prevent\w*|check\w*|"
           r"detect\w*|handl\w*)\b[^\n.]{0,25}\b(?:nan|inf)s?\b|isnan|isinf|nan_to_num|"
           r"float\(['\"]-?(?:nan|inf)|(?:math|np|numpy|torch)\.(?:nan|inf)\b|masked_fill|"
           r"\bfill_?\())")

PATTERNS: dict[str, TextPatterns] = {
    "cudagraph_overwrite": TextPatterns(((OVERWRITE_RE, None),), ("overwritten",)),
    "kept_output_overwritten": TextPatterns(
        ((re.compile(r"kept output (?:of call \d+ )?(?:changed|was overwritten)", I), None),),
        ("kept output",)),
    "oom": TextPatterns(
        ((OOM_TEXT, None),
         # TensorRT and other runtimes: "Error Code 2: OutOfMemory (no further information)"
         (re.compile(r"\bOutOfMemory\b|\bcudaErrorMemoryAllocation\b|\bCUDA_ERROR_OUT_OF_MEMORY\b"
                     r"|\bRESOURCE_EXHAUSTED\b"), None),
         # the allocator's own words without "out of memory" (a wrapped or trimmed message)
         (re.compile(r"\bTried to allocate \d[\d.]* ?[KMGT]i?B\b.{0,80}(?:free|capacity)"
                     r"|\bnot enough memory\b|\bCannot allocate memory\b|\bfailed to allocate\b"
                     r"|Requested amount of GPU memory \(\d+ bytes\) could not be allocated"
                     r"|posix_memalign\(.*\)\s*==\s*0\.\s*12 vs 0|\bRan out of memory\b", I),
          None),
         # torch.cuda.memory_summary(): "CUDA OOMs: 1" (0 is a healthy summary)
         (re.compile(r"\bCUDA OOMs:\s*[1-9]"), None),
         # the caching allocator's expandable segments: "memory mapping failed with OOM"
         (re.compile(r"\bfailed with OOM\b"), None)),
        ("memory", "outofmemory", "cublas_status_alloc", "oom", "allocat", "posix_memalign",
         "resource_exhausted"),
        # Triton's resource check, however its exception is named ("OutOfMemoryError: out of
        # resource: <kernel> Required: N Hardware limit: M"): the on-chip memory a kernel
        # config asks for, found while kernels are built or tuned; not device memory
        exclude=re.compile(r"\bout of resource:|\bHardware limit:|\btriton\W+Out ?of ?Memory|"
                           r"(?:\bno|\bnot|\bnever|\bwithout|\bavoid\w*|\bprevent\w*|n't)\s+"
                           r"(?:\w+\s+){0,2}(?:an?\s+)?(?:OOM|out[- ]of[- ]memory)|"
                           r"out-of-memory error occurs", I),
        # "I encounter OOM errors ... without OOMing on 2.6": one denial, one OOM
        near=True),
    "crash": TextPatterns(
        ((re.compile(r"Segmentation fault|\bseg ?fault(?:s|ed|ing)?\b|core dumped|"
                     r"Fatal Python error|\bSIGSEGV\b|"
                     r"\bSIGABRT\b|\bSIGBUS\b|terminate called after|worker died|"
                     r"^={3,} backtrace \(tid:|\bfree\(\): invalid|double free or corruption|"
                     r"Caught signal \d+|BrokenProcessPool|terminated abruptly|"
                     r"exitcode\s*:\s*-(?:6|9|11)\b|Illegal instruction|"
                     r"Windows fatal exception: |^Extension modules: .*\(total: \d+\)$", I), None),
         # faulthandler's dump (Python/traceback.c) with its "Fatal Python error" header cut:
         # "Stack (most recent call first):", "Current thread 0x... (most recent call first):"
         (re.compile(r"^(?:Stack|(?:Current )?[Tt]hread 0x[0-9a-fA-F]+(?: \[[^\]]*\])?) "
                     r"\(most recent call first\):"), None, "faulthandler")),
        ("segmentation", "segfault", "seg fault", "core dumped", "fatal python", "sigsegv", "sigabrt", "sigbus",
         "terminate called", "worker died", "backtrace", "free()", "double free",
         "caught signal", "brokenprocesspool", "terminated abruptly", "exitcode",
         "illegal instruction", "windows fatal exception", "extension modules:",
         "most recent call first")),
    "timeout": TextPatterns(
        ((re.compile(r"\btimed out\b|TimeoutError|\btimeout\b.*(?:exceeded|expired)|"
                     r"collective operation timeout|before timing out|watchdog got stuck|"
                     r"\bWatchdog timeout\b|"
                     r"\bDeadline ?Exceeded\b", I), None),
         # faulthandler.dump_traceback_later's header: the thread dumps below it are a hang
         (re.compile(r"^Timeout \(\d+:\d\d:\d\d(?:\.\d+)?\)!$"), None, "faulthandler")),
        ("timed out", "timeouterror", "timeout", "timing out", "watchdog", "deadline"),
        # a hang denied ("it no longer hangs", "does not get stuck")
        exclude=re.compile(r"(?:\bnot|n't|\bnever|\bno longer|\bwithout)\s+(?:\w+\s+){0,2}"
                           r"(?:hang|hung|stall|get stuck|be stuck|freez|time out|timed out)",
                           I)),
    "compile_error": TextPatterns(
        ((re.compile(r"BackendCompilerFailed|InductorError|CppCompileError|LoweringException|"
                     r"GuardOnDataDependentSymNode|InternalTorchDynamoError|"
                     r"Could not guard on data-dependent|torch\._dynamo\.exc\.UserError|"
                     r"torch\._dynamo\.exc\.TorchRuntimeError|backend='?\w+'? raised|"
                     r"ptxas (?:fatal|error)|CompilationError|"
                     # raised; not one autotuning choice dropped ("... OutOfResources: ...
                     # Ignoring this choice.", which select_algorithm logs and goes on)
                     r"(?:Exception|Error:?)\s+No valid triton configs|"
                     r"No valid triton configs\.?\s*$|"
                     # the C compiler a kernel's build runs, failing (a header missing)
                     r"fatal error: [\w./+-]+: No such file or directory|"
                     # the C compiler itself failing to run (its own front end missing)
                     r"\b(?:gcc|g\+\+|c\+\+|clang(?:\+\+)?)(?:-\d+)?: fatal error: cannot "
                     r"execute|"
                     r"\bERROR\b.*\bInductorError\b|"
                     # torch/_guards.py logs this where building a guard raised: the frame's
                     # compile fails after tracing (the exception follows it)
                     r"\bError while creating guard:", I), None),
         # a Triton error (one sentence names both): building a kernel, or launching one; the
         # phase decides (explain/phase.py), a build when nothing says
         (re.compile(r"triton[\w.]*\b[^.\n]{0,60}?\b(?:error|failed|failure)\b", I), None,
          "phase"),
         # Triton's OutOfResources raised (a kernel that does not fit the device, found when it
         # is loaded); not the warning autotuning logs for a choice it drops and goes on
         (re.compile(r"^(?:[A-Za-z_]\w*\.)*OutOfResources:"), None, "phase"),
         # dynamo's footer on an exception raised while it compiled a frame (torch 2.0-2.5:
         # convert_frame's augment_exc_message), where the exception's own line is cut
         (re.compile(r"You can suppress this exception and fall back to eager by setting|"
                     r"Set TORCH_LOGS=\W*\+dynamo\W* and TORCHDYNAMO_VERBOSE=1 for more "
                     r"information", I), None, "footer")),
        ("backendcompilerfailed", "inductorerror", "cppcompileerror", "loweringexception",
         "guardondatadependent", "internaltorchdynamoerror", "data-dependent", "usererror",
         "torchruntimeerror", "raised", "ptxas", "compilationerror", "triton", "fatal error:",
         "outofresources", "out of resource", "error while creating guard",
         "suppress this exception", "torchdynamo_verbose=1 for more"),
        # torch before the registry raised the data-dependent branch break as a UserError
        exclude=re.compile(r"UserError: Dynamic control flow is not supported")),
    "state_mutation": TextPatterns(
        ((re.compile(r"(guard failure|^\s*-\s*\d+/\d+:|triggered by).*?"
                     r"(\bself\b|L\[['\"]self['\"]\])(\.\w+|\[['\"][\w.]+['\"]\])+", I),
          "recompile on a guard over module state"),
         # an attribute forward creates: `not hasattr(self, '_cache')`
         (re.compile(r"(guard failure|^\s*-\s*\d+/\d+:|triggered by).*?"
                     r"hasattr\((?:self|L\[['\"]self['\"]\])[^,]*,\s*['\"]\w+['\"]\)", I),
          "recompile on a guard over module state"),),
        ("self",),
        # a guard on an object's identity or type, or dynamo's module-version guard, says the
        # object was another one, not that its state was assigned
        exclude=re.compile(r"___check_obj_id|___check_type_id|__nn_module_guard|ID_MATCH|"
                           r"TYPE_MATCH|\[__guards\]")),
    "numeric_mismatch": TextPatterns(
        ((re.compile(r"\bmax(?:imum)?[ _]?(?:abs(?:olute)?|rel(?:ative)?)[ _]?"
                     r"(?:err(?:or)?|diff(?:erence)?)\b|\bmax[ _]diff\b\s*[:=](?!\s*0(?:\.0*)?(?:e[-+]?\d+)?(?![\d.]))|"
                     r"Greatest (?:absolute|relative) difference|"
                     r"allclose\b[^\n]*?[):]\s*[:=]?\s*(?:is\s+|returned\s+)?False\b|"
                     r"allclose\b[^\n]*?\b(?:fails?|failed)\b|"
                     r"Mismatched elements|accuracy (?:check )?fail|Accuracy failed|"
                     r"AccuracyError|Bad accuracy|fail_accuracy|"
                     r"(?:tensors?|Tensor-likes|Scalars) (?:are|is) not (?:close|equal)", I),
          None),
         # NaN or inf in the compiled run only
         (re.compile(r"\bcompil\w*\b[^\n]{0,60}\bhas_(?:nan|inf)\s*[=:]\s*True", I), None),
         # inductor's nan_asserts: the generated code's own check of a buffer (codegen/wrapper.py)
         (re.compile(r"assert not \w+\.is(?:nan|inf)\(\)\.any\(\)\.item\(\)"),
          "inductor's nan_asserts found NaN or Inf in a buffer of the compiled graph"),
         (re.compile(r"\bNaN loss\b|\bloss\s*[:=]\s*nan\b|\bnan loss\b", I), None,
          "needs_compile"),
         # in a log about torch.compile: an error figure however worded ("max per-element
         # relative error vs eager is ~1.7", "rel_err=0.3", "abs diff 12.5"), not a tolerance
         (re.compile(r"\b(?:rel(?:ative)?|abs(?:olute)?)\.?[ _-]?(?:err(?:or)?s?|diff(?:erence)?s?|"
                     r"deviations?|discrepanc(?:y|ies))\b(?![ _-]?(?:tol|threshold))"
                     r"[^\n]{0,40}?(?:[:=~]|\bis\b|\bof\b|\bvs\.?\b|\bup to\b)\s*~?\s*"
                     r"-?\d*\.?\d+(?:e-?\d+)?", I), None, "needs_compile"),
         # NaN or Inf in what the compiled code gives ("causes nans to appear in the forward
         # pass", "logits: tensor([nan, ...", "NaN log-probs with CUDA graphs on")
         (re.compile(_NO_NAN + r".*?(?:(?<![\w'\".(])(?:nan|inf)s?\b(?!\s*[(=])[^\n]{0,50}?\b(?:appear\w*|"
                     r"outputs?|values?|logits|log[-_ ]?probs?|loss(?:es)?|gradients?|grads?|"
                     r"activations?|results?|predictions?|in the (?:forward|backward))\b|"
                     r"\b(?:produc\w+|gives?|gave|returns?|returned|outputs?|yields?|getting|got|"
                     r"seeing|appears?|contains?|becomes?|became|turns? (?:in)?to|results? in|"
                     r"caus\w+|full of|all)\b[^\n.]{0,60}?(?<![\w'\".(])(?:nan|inf)s?\b(?!\s*[(=])|"
                     r"\b(?:logits|log[-_ ]?probs?|outputs?|out|result|preds?|y)\s*[:=]\s*"
                     r"(?:tensor\()?\[*\s*-?(?:nan|inf)\b|"
                     r"\b(?:logits|log[-_ ]?probs?|outputs?|loss(?:es)?|gradients?|grads?|"
                     r"predictions?|results?|values?)\b[^\n.]{0,20}\b(?:are|is|were|was|become|"
                     r"became|turn|turned|go|went|get|got)\b[^\n.]{0,10}?\b(?:nan|inf)s?\b)", I),
          None, "needs_compile"),),
        ("max abs", "max_abs", "maxabs", "maximum abs", "max rel", "max_rel", "maximum rel",
         "max diff", "max_diff", "allclose", "mismatched elements", "accuracy", "not close",
         "not equal", "fail_accuracy", "greatest", "has_nan", "has_inf", "nan loss", "loss:nan",
         ".isnan().any()", ".isinf().any()",
         "loss: nan", "loss=nan", "loss = nan", "rel", "abs", "nan", "inf ", "infs", "inf,",
         "inf]", "inf)", "inf.", "inf\n", "wrong", "incorrect", "different", "inconsistent",
         "mismatch", "garbage", "corrupt", "diverg", "n't match", "not match", "numerical",
         "precision")),
    "recompile_limit": TextPatterns(
        ((RECOMPILE_LIMIT_RE, None),),
        ("recompile_limit", "cache_size_limit", "failonrecompilelimithit", "cache limit",
         "recompilelimitexceeded", "cachelimitexceeded", "last reason")),
    "runtime_error": TextPatterns(
        ((re.compile(r"quantile\(\) input tensor is too large"),
          "torch.quantile over more than 2**24 values: calibrate over fewer tokens "
          "(subsample) or use kthvalue"),
         # any error raised; one raised in a compile phase is a compile error (explain/phase.py)
         (re.compile(_AT + r"(?:[A-Za-z_]\w*\.)*(?:RuntimeError|ValueError|TypeError|"
                     r"AssertionError|IndexError|KeyError|AttributeError|NotImplementedError|"
                     r"ZeroDivisionError|AcceleratorError|Exception):\s*\S|\bCUDA error:\s*\S"),
          None, "phase"),
         (re.compile(r"^(?:[\w.]+\.)?AssertionError\s*$"), None, "phase"),
         # an exception of any other type (subprocess.CalledProcessError): a finding only where
         # its frames or its words place it in a compile or a compiled call (explain/phase.py)
         (re.compile(_AT + r"(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception):\s*\S"), None,
          "frames"),
         # the CUDA runtime's own words, without the "RuntimeError: CUDA error:" line: a stream
         # capture refused, a device fault, and the note torch adds to every CUDA error
         (re.compile(r"\bcudaError\w+|\bCUDA_ERROR_\w+|operation not permitted when stream is "
                     r"capturing|operation failed due to a previous error during capture|"
                     r"stream is capturing|CUDA kernel errors might be asynchronously reported|"
                     r"device-side assert triggered|an illegal memory access was encountered|"
                     r"misaligned address|unspecified launch failure", I), None, "phase")),
        ("quantile", "error", "exception", "cudaerror", "cuda_error", "stream is capturing",
         "during capture", "asynchronously reported", "device-side assert",
         "illegal memory access", "misaligned address", "launch failure"),
        # the error set_stance("fail_on_recompile") raises is the recompile (eval_frame.py);
        # torch before the registry raised the data-dependent branch break as a UserError
        exclude=re.compile(r"Detected recompile when torch\.compile stance|"
                           r"\bUserError: Dynamic control flow")),
    "cudagraph_never_recorded": TextPatterns(((PENDING_BACKWARD_RE, None),),
                                             ("pending", "require backward",
                                              "running_forwards_with_pending_backwards")),
    "cudagraph_threads": TextPatterns(
        ((re.compile(r"torch\._C\._is_key_in_tls|tree_manager_containers|"
                     r"assert.*threading\.get_ident|"
                     r"(?:cuda ?graph|cudagraph)[\w-]*\b[^\n]{0,80}\bthreads?\b|"
                     r"\bthreads?\b[^\n]{0,80}\b(?:cuda ?graph|cudagraph)", I), None),),
        ("thread", "_is_key_in_tls", "tree_manager")),
    "cudagraph_skipped": TextPatterns(((CUDAGRAPH_SKIP_RE, None),), ("cudagraph",)),
    "slow_compile": TextPatterns(((re.compile(r"\bslow_compile\b"), None),), ("slow_compile",)),
    "graph_break": TextPatterns(
        ((re.compile(r"^(?!.*\b(?:WARNING|WARN|INFO|DEBUG)\b.*Unsupported)"  # logged, not raised
                     r"(?:.*?(?:torch\._dynamo\.exc\.|(?<=[\s`'\"*>(|:]))|)Unsupported(?::|\s*$)"
                     r"|torch\._dynamo\.exc\.UserError: Dynamic control flow"), None, "raised"),
         (re.compile(r"\bgraph[ -]?breaks?\b|Graph Break Reason|__graph_breaks|\bUnsupported:|"
                     r"\binline in skipfiles\b|\bskipfiles?\b.*\bskipped\b|\bmarked as skipped\b|"
                     r"\bin skip_files\b|\bgeneric_jump\b|"
                     r"\bcall_(?:function|method) \w*Variable\b|"
                     r"\bDynamic control flow is not supported\b", I), None)),
        ("graph break", "graph-break", "graphbreak", "graph_break", "unsupported",
         "skipfiles", "skip_files", "marked as skipped", "generic_jump", "call_function",
         "call_method", "dynamic control flow"),
        # torch's own report text about graph breaks in general, not a break
        exclude=re.compile(r"\bno graph breaks?\b|graph breaks happen when|"
                           r"why breaks are happening|without graph breaks|^Graph Breaks$", I)),
    "random_stream": TextPatterns(
        # a difference that fallback_random makes go away: inductor's random stream
        ((re.compile(r"fallback_random\s*=\s*True[^\n]{0,80}?\b(?:matches|match|same|"
                     r"identical|no (?:difference|mismatch)|passes|fixes|goes away)\b", I),
          None),),
        ("fallback_random",)),
    "recompile": TextPatterns(
        ((re.compile(r"Recompiling function|guard failure|size mismatch at index|"
                     r"stride mismatch at index|\bDetected recompile\b|Recompile Reasons|"
                     r"__recompiles", I), None),),
        ("recompiling", "guard failure", "size mismatch", "stride mismatch", "recompil")),
}

# torch's own patterns of each class: a finding one of them reads is torch's word for it
OWN = {name: c.patterns for name, c in PATTERNS.items()}
# the problems people tell in words (explain/wordpatterns.py), after each class's own patterns
for _name, (_patterns, _keywords) in WORDS.items():
    _c = PATTERNS[_name]
    PATTERNS[_name] = dataclasses.replace(_c, patterns=_c.patterns + _patterns,
                                          keywords=tuple(dict.fromkeys(_c.keywords + _keywords)))


def in_words_only(cls: str, text: str) -> bool:
    """Did only people's words (not one of torch's messages) find this class in the line?"""
    own = OWN.get(cls)
    if own is None or len(PATTERNS[cls].patterns) == len(own):
        return False
    return not any(p[0].search(text) for p in own) and \
        any(p[0].search(text) for p in PATTERNS[cls].patterns[len(own):])


def in_own_words(cls: str, text: str) -> bool:
    """Did one of torch's own messages of the class find it in the line?"""
    return any(p[0].search(text) for p in OWN.get(cls, ()))
