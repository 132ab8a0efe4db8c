"""The general rules behind the misses of the fresh blind set tests/data/blind30 (read only
after it was scored once, SCORE_BLIND.md): each rule from torch's own behaviour, tested on
those captured public excerpts (no longer blind) and on near variants it must leave alone."""
from pathlib import Path

from compilecheck.explain.command import explain_text

B30 = Path(__file__).parent / "data" / "blind30" / "logs"
LOGS = Path(__file__).parent / "data" / "logs"


def _text(path):
    return path.read_text(encoding="utf-8")


def test_dynamos_footer_alone_is_an_exception_raised_while_compiling():
    """torch 2.0-2.5 end an exception raised while dynamo compiled a frame with "You can
    suppress this exception and fall back to eager": with the exception's own line cut, the
    footer still says the compile failed; under fullgraph=True what it raised is a graph break."""
    text = _text(B30 / "diffusers10290_flux_controlnet_np_ceil_fullgraph.log")
    result = explain_text(text)
    assert result.primary == "graph_break"
    assert "fullgraph=True" in " ".join(result.hints.values())
    plain = explain_text(text.replace(", fullgraph=True", ""))
    assert plain.primary == "compile_error"


def test_dynamos_footer_after_its_exception_adds_nothing():
    """Where the exception itself is in the log, it is the finding, not its footer."""
    for name in ("kjnodes136_error_report_backend_compiler_failed.log",
                 "tritonwin28_comfy_compilation_error.log"):
        result = explain_text(_text(LOGS / name))
        assert not [h for h in result.findings if "suppress this exception" in h.text], name
        assert result.primary == "compile_error", name


def test_a_nan_check_that_raised_another_error_is_that_error():
    """inductor's nan_asserts line in a traceback whose exception is not an AssertionError:
    the check itself failed (isinf on float8), no NaN was found."""
    result = explain_text(_text(B30 / "pt149002_nan_asserts_fp8_isinf.log"))
    assert result.primary == "runtime_error"
    assert "numeric_mismatch" not in result.counts
    # a real run's nan_asserts failure (AssertionError) stays a NaN found
    assert explain_text(_text(LOGS / "cpu_nan_asserts_compiled.log")).primary == \
        "numeric_mismatch"


def test_tritons_resource_limit_is_no_device_oom():
    """Triton's check of a kernel config's shared memory ("out of resource ... Hardware
    limit"), whatever the exception is called, fails the compile; it is not device memory."""
    result = explain_text(_text(B30 / "pt175250_triton_out_of_resource_shared_memory.log"))
    assert result.primary == "compile_error" and "oom" not in result.counts
    assert explain_text("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
                        "\n").primary == "oom"


def test_an_error_creating_a_guard_fails_the_compile():
    """torch/_guards.py logs "Error while creating guard:" where building a guard raised."""
    result = explain_text(_text(B30 / "sglang4497_deepseek_v25_error_creating_guard.log"))
    assert result.primary == "compile_error"


def test_torchs_own_message_outranks_a_class_only_peoples_words_name():
    """torch's "hit config.recompile_limit" beside "it ends up OOM" in the user's words: the
    recompile limit is the finding torch wrote; the OOM stays a finding too."""
    result = explain_text(_text(B30 / "wanvideo366_recompile_limit_64_then_oom.log"))
    assert result.primary == "recompile_limit" and result.counts.get("oom")
    # torch's own OOM message keeps its rank over a recompile limit
    assert explain_text("torch._dynamo hit config.recompile_limit (8)\ntorch.OutOfMemoryError: "
                        "CUDA out of memory. Tried to allocate 20.00 MiB\n").primary == "oom"


def test_a_compile_that_never_ends_told_in_words_is_a_hang():
    """People tell a hang in words ("torch.compile hang", "compiles forever"), and sglang's
    watchdog says it in its own; a hang denied is none."""
    for text in ("CP 32 + torch.compile hang\n",
                 "`torch.compile(dynamic=True)` compiles forever\n",
                 "With torch.compile the server gets stuck at the first request\n",
                 "[Bug] sglang encounter Watchdog timeout error\n"):
        assert explain_text(text).primary == "timeout", text
    for text in ("After the fix torch.compile no longer hangs\n",
                 "The compile does not get stuck anymore on 2.5\n",
                 "my dataloader hangs at epoch 3\n"):
        assert explain_text(text).primary is None, text


def test_a_c_compiler_that_cannot_run_fails_the_build():
    """gcc unable to execute its own front end (cc1) while inductor builds its C++ kernels:
    the compile fails in the build (blind33's vLLM log, read after its one blind score)."""
    b33 = Path(__file__).parent / "data" / "blind33" / "logs"
    result = explain_text(_text(b33 / "vllm15918.log"))
    assert result.primary == "compile_error"
    assert explain_text("g++-12: fatal error: cannot execute 'cc1plus': execvp: No such file "
                        "or directory\n").primary == "compile_error"


def test_a_modules_own_value_told_as_the_cause_is_state_mutation():
    """People tell a module's Python value written in forward by what it did: it caused the
    recompiles, or the compiled module did not update it."""
    for text in ("[torch.compile] nn.Module int/float attributes caused re-compile\n",
                 "Stateful `int` is not updated when using `torch.compile`\n",
                 "A model instance attribute `int` is silently not correctly updated when using "
                 "torch.compile.\n"):
        assert explain_text(text).primary == "state_mutation", text
    assert explain_text("The module's int attribute is updated as expected with torch.compile\n"
                        ).primary is None


def test_cudagraph_trees_flag_for_pending_backwards_names_the_cause():
    """Maintainers quote cudagraph trees' own flag (running_forwards_with_pending_backwards):
    forwards recorded with grad whose backward never ran keep CUDA graphs from recording."""
    text = ("I think what you are hitting is the final case - "
            "`running_forwards_with_pending_backwards`.\n")
    assert explain_text(text).primary == "cudagraph_never_recorded"
