"""The phase an error came from, read from its traceback's frames (torch's own module layout),
else inferred from what the excerpt has (the exception's module, the words of a device fault).

The same text means different classes in different phases: a Triton error while a kernel is
built is a compile error; raised from a kernel launch while a compiled graph runs, a runtime
error. A frame says its phase by torch's file and function (2.0 to 2.13 layouts):

- dynamo tracing: torch/_dynamo/ (convert_frame, symbolic_convert, variables/, output_graph,
  ...; not eval_frame or external_utils, which the compiled code runs through too);
- AOT autograd: torch/_functorch/ (aot_autograd, _aot_autograd/, partitioners), except the
  runtime wrappers a compiled graph runs through;
- inductor code generation: torch/_inductor/ (compile_fx, graph, lowering, scheduler, ir,
  codegen/, fx_passes/, ...);
- the C++/Triton build: codecache, cpp_builder, async_compile, compile workers, Triton's
  compiler, inductor's kernel precompile and autotuning, a generated module being loaded;
- a compiled graph running: output_code's (codecache's before 2.6) `__call__`, the generated
  module's `call`, a Triton kernel's launch;
- CUDA-graph capture or replay: cudagraph_trees' recording and replay, torch/cuda/graphs.py.

The deepest frame that says a phase decides (tracebacks list the innermost last), except
that a kernel run under a capture is the capture. The frames are read back from the error line
when it is found (errors are few; the frames of every traceback are many).
"""
from __future__ import annotations

import functools
import re

NAMES = {
    "dynamo": "dynamo tracing",
    "aot": "AOT autograd",
    "codegen": "inductor code generation",
    "build": "inductor compile (C++/Triton build)",
    "backend": "the backend compile",
    "run": "a compiled graph running",
    "capture": "CUDA-graph capture",
    "replay": "CUDA-graph replay",
}
COMPILE = {"dynamo", "aot", "codegen", "build", "backend"}
RUN = {"run", "capture", "replay"}

# File "path", line 12, in func  |  rich: path:12 in func
FRAME = re.compile(r"(?:File \"(?P<p1>[^\"]+)\", line \d+, in (?P<f1>[\w<>.]+)|"
                   r"(?P<p2>\S+\.py):\d+ in (?P<f2>[\w<>.]+))")
# the functions of AOT autograd a compiled graph runs through (its runtime wrappers)
_RUNTIME_FUNCS = re.compile(r"runtime|^(?:__call__|forward|backward|_backward_impl|"
                            r"call_compiled_backward|inner_fn)$")
# (path regex, function regex or None, phase); first match wins
_RULES = [
    (re.compile(r"torch/_dynamo/(?:eval_frame|external_utils)\.py$"), None, None),
    (re.compile(r"torch/_inductor/cudagraph_trees\.py$"), re.compile(r"record|capture"),
     "capture"),
    (re.compile(r"torch/_inductor/cudagraph_trees\.py$"), re.compile(r"replay|run_graph"),
     "replay"),
    (re.compile(r"torch/_inductor/cudagraph_trees\.py$"), None, "run"),
    (re.compile(r"torch/cuda/graphs\.py$"), re.compile(r"replay"), "replay"),
    (re.compile(r"torch/cuda/graphs\.py$"), None, "capture"),
    (re.compile(r"torch/_inductor/(?:output_code|codecache|compile_fx|utils)\.py$"),
     re.compile(r"^(?:__call__|run|_run_from_cache|call)$"), "run"),
    (re.compile(r"torch/_inductor/runtime/triton_heuristics\.py$"),
     re.compile(r"^(?:run|launcher|_run|__call__)$"), "run"),
    (re.compile(r"torch/_inductor/runtime/triton_heuristics\.py$"), None, "build"),
    (re.compile(r"torch/_inductor/(?:codecache|cpp_builder|async_compile|autotune_process|"
                r"select_algorithm|compile_worker/|runtime/compile_tasks|runtime/benchmarking)"),
     None, "build"),
    (re.compile(r"torch/_inductor/"), None, "codegen"),
    (re.compile(r"(?:^|/)triton/(?:compiler|backends/\w+/compiler|runtime/build|tools)/?"),
     None, "build"),
    (re.compile(r"(?:^|/)triton/runtime/autotuner\.py$"), re.compile(r"bench|prune"), "build"),
    (re.compile(r"(?:^|/)triton/backends/\w+/driver\.py$"), None, "run"),
    (re.compile(r"torchinductor_[^/]*/.*\.py$|/inductor_cache/.*\.py$"),
     re.compile(r"^<module>$"), "build"),
    (re.compile(r"torchinductor_[^/]*/.*\.py$|/inductor_cache/.*\.py$"), None, "run"),
    (re.compile(r"torch/_functorch/(?:_aot_autograd/(?:runtime_wrappers|subclass_codegen)|"
                r"aot_autograd)"), _RUNTIME_FUNCS, "run"),
    (re.compile(r"torch/_functorch/(?:aot_autograd|_aot_autograd/|partitioners|compile_utils|"
                r"compilers)"), None, "aot"),
    (re.compile(r"torch/_dynamo/backends/"), None, None),
    (re.compile(r"torch/_dynamo/output_graph\.py$"), re.compile(r"call_user_compiler"),
     "backend"),
    (re.compile(r"torch/_dynamo/"), None, "dynamo"),
]

# where the frames are cut: what the message itself says, in this order
_INFER = [
    ("capture", re.compile(r"StreamCapture|stream is capturing|during (?:cuda ?graph )?capture|"
                           r"capture_(?:begin|end)|Capture cuda graph failed|graph capture|"
                           r"cudaErrorCapturedEvent", re.I)),
    ("run", re.compile(r"Triton Error \[CUDA\]|illegal memory access|misaligned address|"
                       r"device-side assert|unspecified launch failure|illegal instruction",
                       re.I)),
    ("build", re.compile(r"triton\.compiler|CompilationError|ptxas|PTXASError|CppCompileError|"
                         r"InvalidCxxCompiler|cpp_builder|fatal error:|collect2|nvcc|"
                         r"OutOfResources|out of resource|LLVM ERROR|PTX codegen", re.I)),
    ("codegen", re.compile(r"LoweringException|MissingOperatorWith|torch\._inductor\.exc|"
                           r"InductorError")),
    ("backend", re.compile(r"BackendCompilerFailed|backend='?\w+'? raised")),
    ("aot", re.compile(r"torch\._functorch|aot_autograd|AOTAutograd", re.I)),
    ("dynamo", re.compile(r"torch\._dynamo\.exc|\bUnsupported\b|TorchRuntimeError|UserError|"
                          r"GuardOnDataDependentSymNode|InternalTorchDynamoError")),
    ("run", re.compile(r"\bCUDA error\b|AcceleratorError|cudaError\w*|CUDA_ERROR_\w+|"
                       r"CUBLAS_STATUS_(?!ALLOC)\w+|CUDNN_STATUS_\w+")),
]
_BLOCK_START = re.compile(r"^(?:Traceback \(most recent call last\)|The above exception|"
                          r"During handling of the above)")
# the exception line that ends a traceback block
_EXC_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Unsupported|Failed|"
                       r"Exceeded|Interrupt|Exit)\b:?")
MAX_BACK = 400  # lines read back from an error for its traceback's frames


def frame_phase(text: str) -> str | None | bool:
    """The phase a traceback frame line says; None for a frame that says none; False for a
    line that is not a frame."""
    if not text.startswith("File ") and ".py:" not in text:
        return False
    m = FRAME.match(text)
    if not m:
        return False
    return _phase_of((m.group("p1") or m.group("p2")).replace("\\", "/"),
                     m.group("f1") or m.group("f2"))


@functools.lru_cache(maxsize=4096)
def _phase_of(path: str, func: str) -> str | None:
    if "torch" not in path and "triton" not in path and "inductor" not in path:
        return None
    for prx, frx, phase in _RULES:
        if prx.search(path) and (frx is None or frx.search(func)):
            return phase
    return None


@functools.lru_cache(maxsize=4096)
def infer(text: str) -> str | None:
    for phase, rx in _INFER:
        if rx.search(text):
            return phase
    return None


def block_phase(lines) -> tuple | None:
    """(phase, line) the frames of an error's traceback say: `lines` are (number, text) read
    back from the error line, up to the block's start or the exception before it. The deepest
    frame that says a phase decides; a kernel run under a capture is the capture."""
    phases = []
    for n, text in lines:
        if _BLOCK_START.match(text) or _EXC_LINE.match(text):
            break
        p = frame_phase(text)
        if p:
            phases.append((p, n))
    if not phases:
        return None
    deepest = phases[0]
    if deepest[0] == "run":
        capture = next((p for p in phases if p[0] in ("capture", "replay")), None)
        if capture is not None:
            return capture[0], deepest[1]
    return deepest


def resolve(cls: str, text: str, lines, ambiguous: bool) -> tuple:
    """(class, phase record or None) of an error line: the phase of its traceback's frames
    (`lines` read back from it, or None not to read them), else the phase the message says;
    an ambiguous error (a Triton error, a plain RuntimeError) takes the class of its phase."""
    got = block_phase(lines) if lines is not None else None
    if got is not None:
        phase, how = got[0], f"from the traceback's frames, line {got[1]}"
    else:
        phase = infer(text)
        how = "inferred from the message: the excerpt has no torch frames"
    if phase is None:
        return cls, None
    if ambiguous:
        if phase in COMPILE:
            cls = "compile_error"
        elif phase in RUN:
            cls = "runtime_error"
    return cls, {"phase": phase, "name": NAMES[phase], "how": how}
