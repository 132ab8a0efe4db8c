"""explain reads torch's structure (issue 28): the phase a traceback's frames say, guard-failure
records in every layout torch has written, registry codes across torch versions, compile and
numeric figures, and torch's own explanation and hints first. The logs are real runs
(tests/data/logs/make_logs.py, torch 2.13 and 2.7.1); the short texts are torch's message
layouts as its sources write them (torch/_dynamo/guards.py, exc.py, convert_frame.py of each
release), the frames torch's own file layout."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from compilecheck.classify import gblegacy, gbregistry
from compilecheck.explain.command import explain_lines, explain_text
from compilecheck.vocab.messages import guard_subject, structured_error, torch_cause

LOGS = Path(__file__).parent / "data" / "logs"
SITE = "/opt/venv/lib/python3.11/site-packages"


def _explain(name):
    with open(LOGS / name, encoding="utf-8") as f:
        return explain_lines(f)


def _hit(result, cls):
    return next(h for h in result.findings if h.cls == cls)


def _frames(*frames):
    """A traceback through torch's files: (path under site-packages, line, function)."""
    return "Traceback (most recent call last):\n" + "".join(
        f'  File "{SITE}/{path}", line {n}, in {func}\n    ...\n' for path, n, func in frames)


# ------------------------------------------------------------------ 1. the phase of an error

@pytest.mark.parametrize("name,cls,phase", [
    ("cpu_runtime_index_out_of_bounds.log", "runtime_error", "run"),
    ("cpu_build_no_cxx_compiler.log", "compile_error", "build"),
    ("cpu_custom_op_no_fake.log", "compile_error", "dynamo"),
    ("cpu271_custom_op_no_fake.log", "compile_error", "dynamo"),
])
def test_the_phase_comes_from_the_frames_of_a_real_traceback(name, cls, phase):
    result = _explain(name)
    assert result.primary == cls, str(result)
    got = result.to_json()["phase"]
    assert got["phase"] == phase and got["how"].startswith("from the traceback's frames")
    assert "phase:" in str(result)


LAUNCH = _frames(("torch/_inductor/output_code.py", 763, "__call__"),
                 ("torch/_inductor/runtime/triton_heuristics.py", 1190, "run"),
                 ("triton/backends/nvidia/driver.py", 529, "__call__"))
AUTOTUNE = _frames(("torch/_dynamo/output_graph.py", 1500, "call_user_compiler"),
                   ("torch/_inductor/compile_fx.py", 800, "fx_codegen_and_compile"),
                   ("torch/_inductor/runtime/triton_heuristics.py", 900,
                    "benchmark_all_configs"),
                   ("torch/_inductor/runtime/triton_heuristics.py", 870, "bench"))
CUDA_FAULT = "RuntimeError: Triton Error [CUDA]: an illegal memory access was encountered\n"


TRITON_ERROR = "RuntimeError: Triton Error [CUDA]: invalid argument\n"


def test_the_same_triton_error_is_a_runtime_error_at_a_launch_and_a_compile_error_in_a_build():
    at_launch = explain_text(LAUNCH + TRITON_ERROR)
    assert at_launch.primary == "runtime_error", str(at_launch)
    assert at_launch.to_json()["phase"]["phase"] == "run"
    while_tuning = explain_text(AUTOTUNE + TRITON_ERROR)
    assert while_tuning.primary == "compile_error", str(while_tuning)
    assert while_tuning.to_json()["phase"]["phase"] == "build"


# a kernel loaded at its first launch from the generated module's `call` (torch 2.0's
# triton_ops/autotune.py, Triton's compiler `_init_handles` / `load_binary`)
FIRST_LAUNCH = _frames(("torch/_inductor/compile_fx.py", 252, "run"),
                       ("torch/_inductor/triton_ops/autotune.py", 192, "run"),
                       ("triton/compiler.py", 1678, "__getattribute__"),
                       ("triton/compiler.py", 1671, "_init_handles"))


@pytest.mark.parametrize("frames,message,cls,phase", [
    # a CUDA device fault is sticky and reported at the next call: a kernel ran and faulted,
    # whichever frame observed it (at a first launch, or while autotuning benchmarks)
    (FIRST_LAUNCH, "RuntimeError: Triton Error [CUDA]: misaligned address\n", "runtime_error",
     "run"),
    (AUTOTUNE, CUDA_FAULT, "runtime_error", "run"),
    # loading a built binary at a first launch is the running graph; a kernel that does not
    # fit the device, found there, is a failed build
    (FIRST_LAUNCH, TRITON_ERROR, "runtime_error", "run"),
    (FIRST_LAUNCH, "triton.runtime.errors.OutOfResources: out of resource: shared memory, "
     "Required: 262144, Hardware limit: 232448.\n", "compile_error", "build"),
])
def test_device_faults_run_and_failed_builds_build_whichever_frame(frames, message, cls, phase):
    got = explain_text(frames + message)
    assert got.primary == cls, str(got)
    assert got.to_json()["phase"]["phase"] == phase


def test_a_kernel_run_inside_a_capture_is_the_capture():
    capture = _frames(("torch/cuda/graphs.py", 180, "__exit__"),
                      ("torch/_inductor/output_code.py", 763, "__call__"),
                      ("torch/_inductor/runtime/triton_heuristics.py", 1190, "run"))
    got = explain_text(capture + CUDA_FAULT)
    assert got.primary == "runtime_error" and got.to_json()["phase"]["phase"] == "capture"


@pytest.mark.parametrize("line,cls,phase", [
    (CUDA_FAULT, "runtime_error", "run"),
    ("triton.compiler.errors.CompilationError: at 3:11:\n", "compile_error", "build"),
    ("torch._inductor.exc.InductorError: LoweringException: AssertionError:\n",
     "compile_error", "codegen"),
    ("torch.AcceleratorError: CUDA error: operation failed due to a previous error during "
     "capture\n", "runtime_error", "capture"),
])
def test_where_frames_are_cut_the_phase_is_inferred_and_said_so(line, cls, phase):
    got = explain_text(line)
    assert got.primary == cls, str(got)
    assert got.to_json()["phase"]["phase"] == phase
    assert "inferred" in got.to_json()["phase"]["how"]


@pytest.mark.parametrize("text", [
    "cudaErrorStreamCaptureUnsupported: operation not permitted when stream is capturing\n",
    "CUDA kernel errors might be asynchronously reported at some other API call, so the "
    "stacktrace below might be incorrect.\nFor debugging consider passing "
    "CUDA_LAUNCH_BLOCKING=1\n",
])
def test_a_cuda_error_without_its_runtime_error_line_is_read(text):
    assert explain_text(text).primary == "runtime_error"


# ------------------------------------------------------------------ 2. guard records

@pytest.mark.parametrize("name,primary,held", [
    ("cpu_guard_self_counter_verbose.log", "state_mutation", "module state `self.calls`"),
    ("cpu271_guard_self_counter_verbose.log", "state_mutation", "module state `self.calls`"),
    ("cpu_guard_arg_module_kv.log", "state_mutation", "module state `model._modules"),
    ("cpu_guard_optimizer_step_verbose.log", "state_mutation", "optimizer state"),
    ("cpu271_guard_optimizer_step_verbose.log", "state_mutation", "optimizer state"),
    ("cpu_guard_global_flag.log", "recompile", "a global or config value changed"),
    ("cpu271_guard_global_flag.log", "recompile", "a global or config value changed"),
])
def test_real_guard_records_say_what_the_guard_is_about(name, primary, held):
    result = _explain(name)
    assert result.primary == primary, str(result)
    assert held in result.hints[primary]


def test_torchs_own_hint_on_a_guard_comes_first():
    result = _explain("cpu_guard_self_counter_verbose.log")
    _, fix = result.cause_and_fix()
    assert fix[0].startswith("torch: ") and "allow_unspec_int_on_nn_module" in fix[0]


# each layout as torch's sources write it (convert_frame.py 2.0/2.1, guards.py 2.2 to 2.13)
@pytest.mark.parametrize("log,primary", [
    ("Recompiling function forward in /m.py:10\n"  # 2.1: one guard on the header's line
     "triggered by the following guard failure: L['self'].step == 3\n", "state_mutation"),
    ("('Recompiling function forward in m.py', \"triggered by the following guard failure: "
     "L['self'].step == 3\")\n", "state_mutation"),  # 2.0: the two strings as a tuple
    ("Recompiling function forward in /m.py:10\n"  # 2.2-2.4: "- <guard>" per cache entry
     "    triggered by the following guard failure(s):\n"
     "    - L['self'].counter == 2\n    - L['self'].counter == 1\n", "state_mutation"),
    ("    guard 0 failures:\n"  # recompiles_verbose, its header cut
     "    - L['self'].param_groups[0]['betas'][0] == 0.9\n\n"
     "    guard 1 failures:\n    - L['self'].param_groups[0]['betas'][0] == 0.95\n",
     "state_mutation"),
    ("    - 3/2: L['args'][1]._modules['x']['kv_cache'].size == 4\n", "state_mutation"),
    ("    - 0/0: L['self'].state[list(L['self'].state.keys())[0]]['step'] == 0\n",
     "state_mutation"),
    ("GuardFail(reason=\"L['self'].counter == 2\", orig_code=<code object forward>)\n",
     "state_mutation"),
    ("Recompiling function f in m.py:1\n    triggered by the following guard failure(s):\n"
     "    - 0/0: tensor 'L['x']' size mismatch at index 0. expected 4, actual 8\n",
     "recompile"),
    ("Recompiling function f in m.py:1\n    triggered by the following guard failure(s):\n"
     "    - 0/0: ___check_global_state()\n", "recompile"),
    ("Recompiling function f in m.py:1\n    triggered by the following guard failure(s):\n"
     "    - 0/0: G['CONFIG'].use_fast == True\n", "recompile"),
    # another instance of the module: an identity guard on the holder of the state guarded
    ("Recompiling function forward in m.py:1\n    triggered by the following guard failure(s):\n"
     "    guard 0 failures:\n    - 1/3: L['self']._modules['blk'].layer_idx == 3\n\n"
     "    guard 1 failures:\n    - 1/0: ___check_obj_id(L['self']._modules['blk'], 1234)\n",
     "recompile"),
    # the guards torch lists (TORCH_LOGS=guards) did not fail
    ("GUARDS:\n___check_obj_id(L['self'], 140)\nL['self'].training == True\n", None),
    ("TREE_GUARD_MANAGER:\n+- RootGuardManager\n| +- GuardManager: source=L['self'].calls\n"
     "| | +- EQUALS_MATCH: L['self'].calls == 3\n", None),
])
def test_guard_layouts_of_every_torch(log, primary):
    result = explain_text(log)
    assert result.primary == primary, str(result)


@pytest.mark.parametrize("guard,kind", [
    ("self._buffers['_act_scale'] is None", "module"),
    ("L['self']._modules['a'].step == 1", "module"),
    ("model._modules['layers']._modules['attn']._modules['kv_cache'].size == 0", "module"),
    ("not hasattr(self, '_cache')", "module"),
    ("dict.__getitem__(args[0].state, list(dict.keys(args[0].state))[0])['step'] == 1",
     "optimizer"),
    ("L['self'].param_groups[0]['lr'] == 0.001", "optimizer"),
    ("tensor 'x' requires_grad mismatch. expected requires_grad=0", "shape"),
    ("2 <= L['x'].size()[0]", "shape"),
    ("___check_obj_id(L['self']._modules['attn'].processor, 1316)", "identity"),
    ("___check_obj_id(G['CONFIG'].use_gelu, 140496328748800)", "global"),
    ("not ___dict_contains('use_gelu', G['CONFIG'].__dict__)", "global"),
    ("___check_global_state()", "torch_state"),
    ("L['n'] == 3", "argument"),
])
def test_what_a_guard_is_about(guard, kind):
    assert guard_subject(guard)[0] == kind


def test_the_recompile_limit_says_what_its_last_guard_is_about_and_carries_its_code():
    log = ("W1101 02:43:39.336000 143 torch/_dynamo/convert_frame.py:896] [1/8] torch._dynamo "
           "hit config.recompile_limit (8)\n"
           "W1101 02:43:39.336000 143 torch/_dynamo/convert_frame.py:896] [1/8]    last "
           "reason: 1/7: self.step == 7  # self.step += 1  # m.py:11 in forward\n")
    result = explain_text(log)
    assert result.primary == "recompile_limit"
    assert "module state `self.step`" in result.hints["recompile_limit"]
    limit = gbregistry.recompile_limit()
    assert result.to_json()["code"] == limit["code"] == "GB0039"
    assert all(h.gb and h.gb["code"] == "GB0039" for h in result.findings
               if h.cls == "recompile_limit")


def test_the_recompile_limit_detector_carries_its_code():
    from compilecheck.classify.detectors import DETECTORS, Observed
    line = next(line for line in (LOGS / "cpu_recompile_limit.log").read_text().splitlines()
                if "recompile_limit" in line)
    [f] = DETECTORS["recompile_limit"](Observed(spec=None, outcome="ok", obs={"logs": [line]}))
    assert f.code == "GB0039" and f.to_json()["code"] == "GB0039" and "GB0039" in f.detail


# ------------------------------------------------------------------ 3. codes across versions

def test_an_older_wording_of_gb0007_gets_its_code():
    """torch 2.4-2.6 raised this at the call site where 2.13 raises GB0007."""
    log = ("torch._dynamo.exc.Unsupported: Graph break due to unsupported builtin "
           "mylib._C.fused_op. This function is either a Python builtin (e.g. _warnings.warn) "
           "or a third-party C/C++ Python extension (perhaps created with pybind). If it is a "
           "Python builtin, please file an issue on GitHub so the PyTorch team can add support "
           "for it and see the next case for a workaround.\n")
    result = explain_text(log)
    assert result.primary == "graph_break"
    assert _hit(result, "graph_break").gb["code"] == "GB0007"


def test_each_mined_older_wording_finds_the_break_type_torch_raises_there_today():
    """classify/gblegacy.py (scripts/gb_history.py over released torches): each older message,
    its values filled in, is looked up to its own row's break type (or one whose message
    shares the words, where two rows' messages overlap)."""
    data = gbregistry.load()
    rows = [r.split("\t") for r in gblegacy.ROWS.splitlines()]
    known = {v["Gb_type"].lower() for vs in data.values() for v in vs}
    rows = [r for r in rows if r[0].lower() in known]
    assert len(rows) >= 100
    wrong = []
    for gb_type, _, message in rows:
        entry = gbregistry.lookup("Unsupported: " + message.replace("{}", "x1"))
        if entry is None:
            wrong.append((gb_type, message[:60]))
    assert len(wrong) <= len(rows) // 20, wrong  # nearly all: a few are shadowed by a type


# ------------------------------------------------------------------ 4. figures

@pytest.mark.parametrize("log,primary", [
    ("cpu_slow_compile_unrolled_loop.log", "slow_compile"),
    ("cpu_compile_times_clean.log", None),
])
def test_compile_figures_of_real_runs(log, primary):
    assert _explain(log).primary == primary


@pytest.mark.parametrize("log,primary", [
    ("torch.compile of the policy: compilation takes more than 15 minutes\n", "slow_compile"),
    ("with torch.compile the compile time went from ~1 min to ~20 min\n", "slow_compile"),
    ("first iteration with compilation: 3.36 s\nfirst iteration without compilation: 0.25 s\n",
     "slow_compile"),
    ("Compilation took 412.5 seconds. Compile command: g++ ...\n", "slow_compile"),
    ("CompilationMetrics(compile_id='0/0', entire_frame_compile_time_s=842.1)\n",
     "slow_compile"),
    # a normal compile, and a compiled model's latency, are not a slow compile
    ("INFO 03-01 torch.compile takes 45.3 s in total\n", None),
    ("compiled model latency: 12.0 ms, eager latency: 1.0 ms\n", None),
    ("first iteration with compilation: 0.8 s\neager: 0.01 s\n", None),
])
def test_compile_seconds_as_people_paste_them(log, primary):
    assert explain_text(log).primary == primary


@pytest.mark.parametrize("line,primary", [
    ("Max per-element relative error vs eager is ~1.7\n", "numeric_mismatch"),
    ("This causes nans to appear in the forward pass\n",
     "numeric_mismatch"),
    ("with CUDA graph capture on, the log-probs are NaN while eager is fine\n",
     "numeric_mismatch"),
    ("logits: tensor([nan, nan, nan])\n", "numeric_mismatch"),
    ("rel_err=0.31 abs_err=2.5\n", "numeric_mismatch"),
    ("mask = mask.masked_fill(m, float('-inf'))\n", None),
    ("there is no NaN in the outputs\n", None),
    ("rtol=1e-3, atol=1e-5\n", None),
])
def test_numeric_figures_however_worded_in_a_compile_log(line, primary):
    assert explain_text("model = torch.compile(model)\n" + line).primary == primary
    if not re.search(r"eager|compil|cuda[ -]?graph", line, re.I):
        assert explain_text(line).primary is None  # a log not about torch.compile: unclaimed


def test_eager_named_as_the_other_side_makes_a_log_about_compile():
    assert explain_text("Max per-element relative error vs eager is ~1.7\n").primary == \
        "numeric_mismatch"
    assert explain_text('model loaded with attn_implementation="eager"\nstep 10: loss: nan\n'
                        ).primary is None  # transformers' eager attention is not that


def test_inductors_nan_asserts_are_a_nan_in_compiled_outputs():
    result = _explain("cpu_nan_asserts_compiled.log")
    assert result.primary == "numeric_mismatch" and "nan_asserts" in result.hints[
        "numeric_mismatch"]


# ------------------------------------------------------------------ 5. torch's words first

@pytest.mark.parametrize("name", ["cpu_custom_op_no_fake.log", "cpu271_custom_op_no_fake.log"])
def test_torchs_explanation_and_hint_come_first(name):
    result = _explain(name)
    cause, fix = result.cause_and_fix()
    assert cause[0].startswith("torch: ") and "no fake impl registered" in cause[0]
    assert fix[0].startswith("torch: ") and "register_fake" in fix[0]
    assert "SUPPRESS_ERRORS" not in fix[0]
    assert any("SUPPRESS_ERRORS" in f for f in fix[1:])  # explain's class sentence follows
    d = json.loads(json.dumps(result.to_json()))
    assert d["cause"].startswith("torch: ") and "register_fake" in d["fix"].split(". ")[0]


def test_a_structured_error_carries_its_registry_code():
    result = _explain("cpu_custom_op_no_fake.log")
    assert result.to_json()["code"] == "GB4315"
    text = str(result)
    assert re.search(r"code:\s+GB4315 RuntimeError when making fake tensor call", text)
    assert "graph_break" not in result.counts  # torch's footer is the error's, not a break


def test_structured_error_parsing_follows_torchs_layout():
    msg = ("torch._dynamo.exc.Unsupported: Failed to trace builtin operator\n"
           "  Explanation: Dynamo does not know how to trace builtin operator `print` with\n"
           "    argument types ['str'] (has_kwargs False)\n"
           "  Hint: Avoid calling builtin `print` with argument types ['str'].\n"
           "  Hint: If you are attempting to call a logging function (e.g. `print`), you can\n"
           "    try adding it to `torch._dynamo.config.reorderable_logging_functions`.\n\n"
           "  Developer debug context: builtin print [<class 'str'>] False\n\n"
           " For more details about this graph break, please visit: "
           "https://meta-pytorch.github.io/compile-graph-break-site/gb/gb0059.html\n")
    s = structured_error(msg)
    assert s["type"] == "Unsupported" and s["gb_type"] == "Failed to trace builtin operator"
    assert s["explanation"].endswith("(has_kwargs False)") and len(s["hints"]) == 2
    assert s["hints"][1].endswith("reorderable_logging_functions`.") and s["code"] == "GB0059"
    assert torch_cause(msg).startswith("Dynamo does not know how to trace builtin operator")


def test_the_compile_error_finding_of_diagnose_gives_torchs_cause_and_hint(tmp_path):
    """A real compile of a custom op without a fake implementation, its exception recorded as
    a worker records it: the finding leads with torch's cause, not the exception's name."""
    script = tmp_path / "op.py"
    script.write_text(
        "import json, sys, torch\n"
        "from compilecheck.observe.records import describe_error\n"
        "from compilecheck.classify.detectors import DETECTORS, Observed\n"
        "@torch.library.custom_op('mylib::twice', mutates_args=())\n"
        "def twice(x: torch.Tensor) -> torch.Tensor:\n"
        "    return x * 2\n"
        "try:\n"
        "    torch.compile(lambda x: twice(x).sin())(torch.randn(4))\n"
        "except Exception as e:\n"
        "    err = describe_error(e, 'compile', 0)\n"
        "o = Observed(spec=None, outcome='ok', obs={'error': err})\n"
        "print(json.dumps([f.to_json() for f in DETECTORS['compile_error'](o)]))\n")
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=300)
    [f] = json.loads(p.stdout.strip().splitlines()[-1])
    assert f["detail"].startswith("RuntimeError: There was no fake impl registered")
    assert "twice.register_fake" in f["detail"] and "torch's hint: " in f["detail"]
    assert not f["detail"].startswith("TorchRuntimeError")
    assert f["code"] == "GB4315"
