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
that a kernel run under a capture is the capture.
"""
from __future__ import annotations

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
_RUNTIME_FUNCS = re.compile(r"^(?:runtime_wrapper|call_func_at_runtime_with_args|forward|"
                            r"backward|_backward_impl|call_compiled_backward|inner_fn)$")
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
    (re.compile(r"torch/_functorch/_aot_autograd/runtime_wrappers\.py$|"
                r"torch/_functorch/aot_autograd\.py$"), _RUNTIME_FUNCS, "run"),
    (re.compile(r"torch/_functorch/"), None, "aot"),
    (re.compile(r"torch/_dynamo/backends/"), None, None),
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
KEYWORDS = ("torch/_", "torch\\_", "triton/", "triton\\", "torchinductor", "cuda/graphs.py",
            "cuda\\graphs.py", "traceback (most recent", "the above exception",
            "during handling of")


def frame_phase(text: str) -> str | None | bool:
    """The phase a traceback frame line says; None for a frame that says none; False for a
    line that is not a frame."""
    m = FRAME.match(text)
    if not m:
        return False
    path = (m.group("p1") or m.group("p2")).replace("\\", "/")
    func = m.group("f1") or m.group("f2")
    for prx, frx, phase in _RULES:
        if prx.search(path) and (frx is None or frx.search(func)):
            return phase
    return None


def infer(text: str) -> str | None:
    for phase, rx in _INFER:
        if rx.search(text):
            return phase
    return None


class Frames:
    """The frames of the traceback block being read, and the phase they say."""

    def __init__(self):
        self.phases: list = []  # (phase, line) of each frame that says one

    def feed(self, text: str, n: int) -> bool:
        """Take a line; True when it was a frame or a block boundary."""
        if _BLOCK_START.match(text):
            self.phases = []
            return True
        p = frame_phase(text)
        if p is False:
            return False
        if p:
            self.phases.append((p, n))
        return True

    def phase(self):
        """(phase, line of the frame that says it) of the block so far, or None."""
        if not self.phases:
            return None
        last = self.phases[-1]
        if last[0] == "run":
            capture = next((p for p in reversed(self.phases) if p[0] in ("capture", "replay")),
                           None)
            if capture is not None:
                return capture[0], last[1]
        return last

    def end_of_block(self, text: str):
        """An exception line ends its block: the next frames are another traceback's."""
        if _EXC_LINE.match(text):
            self.phases = []


def resolve(cls: str, text: str, frames: Frames, ambiguous: bool) -> tuple:
    """(class, phase record or None) of an error line: the frames' phase, else the phase the
    message says; an ambiguous error (a Triton error, a plain RuntimeError) takes the class of
    its phase."""
    got = frames.phase()
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
