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
- CUDA-graph capture or replay: cudagraph_trees' recording and replay, torch/cuda/graphs.py;
- a call of a compiled function (eval_frame's wrapper) whose frames below were cut, and
  tracing with fake tensors or symbolic shapes (fake_tensor, symbolic_shapes, proxy_tensor):
  weak phases, said only where no other frame says one.

The deepest frame that says a phase decides (tracebacks list the innermost last), except
that a kernel run under a capture is the capture. The frames are read back from the error line
when it is found (errors are few; the frames of every traceback are many), in every layout
people paste them: Python's (`File "p", line 3, in f`, also behind a `#` or other quote),
faulthandler's (`line 3 in f`), rich's (`p.py:3 in f`), pytest's (`p.py:3: in f`), IPython's
(`p.py in f(...)`,
`File p.py:3, in f(...)`); a path cut below torch (`_dynamo/variables/builder.py`) is torch's.

What the message says beats the frames in two cases: a CUDA device fault (an illegal memory
access, a misaligned address, a device-side assert: CUDA's sticky errors, reported at whatever
call comes next, and fatal to the context so no fallback can run) is a kernel running,
whichever frame observed it; a failed build (Triton's OutOfResources, ptxas, a compilation
error) is the build, even when a kernel's first launch loads it. Triton's loading of a built
binary at a first launch (`_init_handles`, `load_binary`) says no phase of its own: the frames
around it say whether a graph was running or a kernel being tuned.

An error whose complete traceback runs through torch's files but through no compile or
compiled-call frame (an eager API such as `load_state_dict` failing) is no finding: `resolve`
returns no class for it. An exception of another type (`subprocess.CalledProcessError`) counts
only where its frames (or its words) say a phase.
"""
from __future__ import annotations

import dataclasses
import functools
import re

NAMES = {
    "dynamo": "dynamo tracing",
    "aot": "AOT autograd",
    "codegen": "inductor code generation",
    "build": "inductor compile (C++/Triton build)",
    "backend": "the backend compile",
    "tracing": "tracing with fake tensors or symbolic shapes",
    "call": "a call of a compiled function (its frames below were cut)",
    "run": "a compiled graph running",
    "capture": "CUDA-graph capture",
    "replay": "CUDA-graph replay",
}
COMPILE = {"dynamo", "aot", "codegen", "build", "backend", "tracing"}
RUN = {"run", "capture", "replay"}

# File "path", line 12, in func (Python; faulthandler drops the comma)  |  rich: path:12 in
# func  |  pytest: path.py:12: in func  |  IPython 8: File path.py:12, in Class.func(...)  |
# IPython 7: path.py in func(...)
FRAME = re.compile(r"File \"(?P<p1>[^\"]+)\", line \d+,? in (?P<f1>[\w<>.]+)|"
                   r"(?P<p2>[^\s\"]+\.py):\d+[,:]? in (?P<f2>[\w<>.]+)|"
                   r"(?P<p3>[^\s\"]+\.py) in (?P<f3>[\w<>.]+)\(")
T = r"(?:torch/|^)"  # a path in torch's package, or one cut below it
# the functions of AOT autograd a compiled graph runs through (its runtime wrappers)
_RUNTIME_FUNCS = re.compile(r"runtime|^(?:__call__|forward|backward|_backward_impl|"
                            r"call_compiled_backward|inner_fn)$")
_HEURISTICS = T + r"_inductor/(?:runtime/triton_heuristics|triton_ops/autotune)\.py$"
# (path regex, function regex or None, phase, weak); first match wins
_RULES = [(re.compile(p), f and re.compile(f), phase, weak) for p, f, phase, weak in [
    (T + r"_dynamo/(?:eval_frame|external_utils)\.py$", None, "call", True),
    (T + r"_inductor/cudagraph_trees\.py$", r"record|capture", "capture", False),
    (T + r"_inductor/cudagraph_trees\.py$", r"replay|run_graph", "replay", False),
    (T + r"_inductor/cudagraph_trees\.py$", None, "run", False),
    (r"torch/cuda/graphs\.py$", r"replay", "replay", False),
    (r"torch/cuda/graphs\.py$", None, "capture", False),
    (T + r"_inductor/(?:output_code|codecache|compile_fx|utils)\.py$",
     r"^(?:__call__|run|_run_from_cache|call)$", "run", False),
    # torch 2.0's triton_ops/autotune.py is today's triton_heuristics
    (_HEURISTICS, r"^(?:run|launcher|_run|__call__)$", "run", False),
    (_HEURISTICS, None, "build", False),
    (T + r"_inductor/(?:codecache|cpp_builder|async_compile|autotune_process|select_algorithm|"
     r"compile_worker/|runtime/compile_tasks|runtime/benchmarking)", None, "build", False),
    (T + r"_inductor/", None, "codegen", False),
    # a built binary loaded at a kernel's first launch: the frames around it decide
    (r"(?:^|/)triton/(?:compiler|runtime)/?", r"^(?:_init_handles|load_binary|__getattribute__)$",
     None, False),
    (r"(?:^|/)triton/(?:compiler|backends/\w+/compiler|runtime/build|tools)/?", None, "build",
     False),
    (r"(?:^|/)triton/runtime/autotuner\.py$", r"bench|prune", "build", False),
    (r"(?:^|/)triton/backends/\w+/driver\.py$", None, "run", False),
    (r"torchinductor_[^/]*/.*\.py$|/inductor_cache/.*\.py$", r"^<module>$", "build", False),
    (r"torchinductor_[^/]*/.*\.py$|/inductor_cache/.*\.py$", None, "run", False),
    (T + r"_functorch/(?:_aot_autograd/(?:runtime_wrappers|subclass_codegen)|aot_autograd)",
     _RUNTIME_FUNCS.pattern, "run", False),
    (T + r"_functorch/(?:aot_autograd|_aot_autograd/|partitioners|compile_utils|compilers)",
     None, "aot", False),
    (T + r"_dynamo/backends/", None, None, False),
    (T + r"_dynamo/output_graph\.py$", r"call_user_compiler", "backend", False),
    (T + r"_dynamo/", None, "dynamo", False),
    (r"torch/_subclasses/(?:fake_tensor|fake_impls|meta_utils)\.py$|"
     r"torch/fx/experimental/(?:symbolic_shapes|proxy_tensor|sym_node)\.py$", None, "tracing",
     True),
]]
_TORCH_FILE = re.compile(r"(?:^|/)torch/|^_(?:dynamo|inductor|functorch)/")
# the autograd engine runs a compiled backward as well as an eager one: no eager evidence
_AUTOGRAD = re.compile(r"torch/(?:autograd/|_tensor\.py$)")

# a CUDA device fault: sticky, reported asynchronously, whichever frame observes it (CUDA's
# cudaErrorIllegalAddress, MisalignedAddress, IllegalInstruction, LaunchFailure, Assert,
# HardwareStackError, InvalidPc, InvalidAddressSpace, LaunchTimeout, ECCUncorrectable)
_FAULT = re.compile(r"illegal memory access|misaligned address|illegal instruction|"
                    r"unspecified launch failure|device-side assert|hardware stack error|"
                    r"invalid program counter|operation not supported on global/shared address|"
                    r"launch timed out and was terminated|uncorrectable ECC error|"
                    r"cudaError(?:IllegalAddress|MisalignedAddress|IllegalInstruction|"
                    r"LaunchFailure|Assert|HardwareStackError|InvalidPc|InvalidAddressSpace|"
                    r"LaunchTimeout|ECCUncorrectable)|CUDA_ERROR_(?:ILLEGAL_ADDRESS|"
                    r"MISALIGNED_ADDRESS|ILLEGAL_INSTRUCTION|LAUNCH_FAILED|ASSERT|"
                    r"HARDWARE_STACK_ERROR|INVALID_PC|INVALID_ADDRESS_SPACE|LAUNCH_TIMEOUT|"
                    r"ECC_UNCORRECTABLE)", re.I)
# a kernel that did not build: the build, even when a first launch loads it
_BUILD = re.compile(r"triton\.compiler|CompilationError|ptxas|PTXASError|CppCompileError|"
                    r"InvalidCxxCompiler|cpp_builder|fatal error:|collect2|nvcc|"
                    r"OutOfResources|out of resource|LLVM ERROR|PTX codegen", re.I)
# where the frames are cut: what the message itself says, in this order
_INFER = [
    ("capture", re.compile(r"StreamCapture|stream is capturing|during (?:cuda ?graph )?capture|"
                           r"capture_(?:begin|end)|Capture cuda graph failed|graph capture|"
                           r"cudaErrorCapturedEvent|during graph recording", re.I)),
    ("run", _FAULT),
    ("build", _BUILD),
    ("run", re.compile(r"Triton Error \[CUDA\]", re.I)),
    ("codegen", re.compile(r"LoweringException|MissingOperatorWith|torch\._inductor\.exc|"
                           r"InductorError")),
    ("backend", re.compile(r"BackendCompilerFailed|backend='?\w+'? raised")),
    ("aot", re.compile(r"torch\._functorch|aot_autograd|AOTAutograd", re.I)),
    ("dynamo", re.compile(r"torch\._dynamo\.exc|\bUnsupported\b|TorchRuntimeError|UserError|"
                          r"GuardOnDataDependentSymNode|InternalTorchDynamoError")),
    # symbolic shapes and fake tensors exist only while a graph is traced
    ("tracing", re.compile(r"\bSym(?:Int|Float|Bool|Node)\b|\bsymbolic (?:int|float|bool|"
                           r"shapes?|sizes?)\b|\bFakeTensor|\bfake tensors?\b|\bShapeEnv\b|"
                           r"\bunbacked symint|data-dependent (?:expression|guard)", re.I)),
    ("run", re.compile(r"\bCUDA error\b|AcceleratorError|cudaError\w*|CUDA_ERROR_\w+|"
                       r"CUBLAS_STATUS_(?!ALLOC)\w+|CUDNN_STATUS_\w+|"
                       r"CUDA kernel errors might be asynchronously reported")),
]
_BLOCK_START = re.compile(r"^(?:Traceback \(most recent call last\)|The above exception|"
                          r"During handling of the above)")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")  # IPython puts a type before it
# the exception line that ends a traceback block
_EXC_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Unsupported|Failed|"
                       r"Exceeded|Interrupt|Exit)\b:?")
MAX_BACK = 400  # lines read back from an error for its traceback's frames


def frame_of(text: str) -> tuple | None:
    """(path, function) of a traceback frame line, whatever quote or prefix is before it."""
    if ".py" not in text and "File " not in text:
        return None
    m = FRAME.search(text)
    if not m:
        return None
    path = (m.group("p1") or m.group("p2") or m.group("p3")).replace("\\", "/")
    return path, (m.group("f1") or m.group("f2") or m.group("f3")).rsplit(".", 1)[-1]


def frame_phase(text: str) -> str | None | bool:
    """The phase a traceback frame line says; None for a frame that says none; False for a
    line that is not a frame."""
    got = frame_of(text)
    if got is None:
        return False
    rule = _phase_of(*got)
    return rule[0] if rule else None


@functools.lru_cache(maxsize=4096)
def _phase_of(path: str, func: str) -> tuple | None:
    """(phase, weak) a frame's file and function say, or None."""
    if not any(k in path for k in ("torch", "triton", "inductor", "_dynamo", "_functorch")):
        return None
    for prx, frx, phase, weak in _RULES:
        if prx.search(path) and (frx is None or frx.search(func)):
            return (phase, weak) if phase else None
    return None


@functools.lru_cache(maxsize=4096)
def infer(text: str) -> str | None:
    for phase, rx in _INFER:
        if rx.search(text):
            return phase
    return None


@dataclasses.dataclass
class Frames:
    """What the frames of one traceback say."""

    phase: str | None = None  # the deepest frame's phase (a strong one before a weak one)
    line: int = 0  # the line of that frame
    weak: bool = False  # only a weak frame says it (a compiled call, fake tensors)
    torch: bool = False  # a frame in torch's files
    autograd: bool = False  # a frame in the autograd engine (it runs compiled backwards too)
    complete: bool = False  # read back to its "Traceback (most recent call last)"

    @property
    def eager(self) -> bool:
        """A complete traceback through torch's files and no compile or compiled-call frame:
        an eager torch API failing."""
        return self.complete and self.torch and not self.autograd and self.phase is None


def block_phase(lines) -> Frames:
    """What the frames of an error's traceback say: `lines` are (number, text) read back from
    the error line, up to the block's start or the exception before it. The deepest frame that
    says a phase decides (a weak phase only where no frame says a strong one); a kernel run
    under a capture is the capture."""
    out = Frames()
    strong, weak = [], []
    for n, text in lines:
        if _BLOCK_START.match(text) or _EXC_LINE.match(text):
            out.complete = bool(_TRACEBACK.search(text))
            break
        got = frame_of(text)
        if got is None:
            continue
        if _TORCH_FILE.search(got[0]):
            out.torch = True
            out.autograd = out.autograd or bool(_AUTOGRAD.search(got[0]))
        rule = _phase_of(*got)
        if rule:
            (weak if rule[1] else strong).append((rule[0], n))
    phases = strong or weak
    if phases:
        out.phase, out.line = phases[0]
        out.weak = not strong
        if out.phase == "run":
            capture = next((p for p in phases if p[0] in ("capture", "replay")), None)
            if capture is not None:
                out.phase = capture[0]
    return out


def resolve(cls: str, text: str, lines, tag: str | None) -> tuple:
    """(class or None, phase record or None, cut) of an error line: the phase of its
    traceback's frames (`lines` read back from it, or None not to read them), else the phase
    the message says; an ambiguous error (tag "phase": a Triton error, a plain RuntimeError;
    tag "frames": an exception of any other type) takes the class of its phase. The class is
    None where the error is no finding (an eager API failing; an exception of another type
    that no frame or word places in a compile or a compiled call). `cut` says that neither the
    frames nor the message placed the error."""
    frames = block_phase(lines) if lines is not None else Frames()
    ambiguous = tag in ("phase", "frames")
    phase = frames.phase
    how = f"from the traceback's frames, line {frames.line}"
    if frames.weak and infer(text):  # the frames below a compiled call were cut
        how = (f"inferred from the message; the frames say only {NAMES[phase]}, "
               f"line {frames.line}")
        phase = infer(text)
    if phase is not None and phase not in RUN and _FAULT.search(text):
        phase = "run"
        how = ("the message is a CUDA device fault: sticky and reported asynchronously, so a "
               "kernel running faulted, whichever frame observed it")
    elif phase in RUN | {"call"} and _BUILD.search(text):
        phase, how = "build", "the message is a failed build (the first launch loads the kernel)"
    elif phase is None:
        phase = infer(text)
        how = "inferred from the message: " + (
            "its frames say no phase" if frames.torch else "the excerpt has no torch frames")
        if phase is None and ambiguous and (frames.eager or tag == "frames"):
            return None, None, False
    if phase is None:
        return cls, None, True
    if ambiguous:
        if phase in COMPILE:
            cls = "compile_error"
        elif phase in RUN:
            cls = "runtime_error"
    return cls, {"phase": phase, "name": NAMES[phase], "how": how}, False
