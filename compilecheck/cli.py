"""The command line: thin. Every input is checked before any heavy work; a bad one gets one
line on stderr and exit 2, never a traceback."""
from __future__ import annotations

import json
import os
import sys
import warnings

import click

warnings.filterwarnings("ignore", message=".*Failed to initialize NumPy.*")

EXIT_USAGE, EXIT_PROBE, EXIT_INTERRUPTED = 2, 3, 130
DEBUG_ENV = "COMPILECHECK_DEBUG"


class UsageError(Exception):
    pass


def fail(message: str, code: int = EXIT_USAGE):
    click.echo(f"compilecheck: error: {message}", err=True)
    sys.exit(code)


def _check_out_path(option: str, path: str | None):
    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        fail(f"{option} {path}: is a directory; expected a file path")
    if not os.path.isdir(folder):
        fail(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        fail(f"{option} {path}: folder {folder} is not writable")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="compilecheck", message="compilecheck %(version)s")
@click.option("--debug", is_flag=True, help="show the traceback of an internal error "
                                            f"(or set {DEBUG_ENV}=1)")
def main(debug):
    """Does a quantized layer survive torch.compile, and which fallback to take."""
    if debug:
        os.environ[DEBUG_ENV] = "1"


# --------------------------------------------------------------------------- diagnose
@main.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True)
@click.option("--variant", "variants", multiple=True,
              help="lazy, buffer-clone, deployed, calibrated, weight-only (repeatable; "
                   "default all)")
@click.option("--mode", "modes", multiple=True,
              help="eager default reduce-overhead max-autotune max-autotune-no-cudagraphs "
                   "(repeatable; default all; the first compiled one is the target)")
@click.option("--cudagraphs", type=click.Choice(["on", "off", "both"]), default="both",
              show_default=True)
@click.option("--shape", default="tiny", show_default=True,
              help="a preset (tiny, gemma-300m, gemma-2b, ...) or TOKENSxINxOUT")
@click.option("--wbits", type=int, default=None, help="default: OPENPI_DUQUANT_WBITS_DEFAULT or 4")
@click.option("--abits", type=int, default=None, help="default: OPENPI_DUQUANT_ABITS or 8")
@click.option("--block", type=int, default=None, help="default: OPENPI_DUQUANT_BLOCK or 16")
@click.option("--act-pct", type=float, default=None,
              help="default: OPENPI_DUQUANT_ACT_PCT or 99.9")
@click.option("--permute/--no-permute", default=None,
              help="default: OPENPI_DUQUANT_PERMUTE or on")
@click.option("--iters", type=int, default=4, show_default=True,
              help="compiled calls per cell (at least 3)")
@click.option("--timeout", type=float, default=None,
              help="seconds per cell (default 600; a whole --policy's cells: from the "
                   "estimate of its compile, measured on one of its layers first)")
@click.option("--jobs", type=int, default=None,
              help="cells at once (default: the cores available, at most 8)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--probe", "probes", multiple=True,
              help="your own module: path/file.py:factory or pkg.mod:factory (repeatable)")
@click.option("--call-pattern", "patterns", multiple=True,
              help="how the caller calls the module: loop, keep-outputs, grad, threads "
                   "(repeatable; default all)")
@click.option("--json", "json_path", default=None, help="write the JSON report here")
@click.option("--markdown", "md_path", default=None, help="write the markdown report here")
@click.option("--log", "log_path", default=None,
              help="write the workers' output here (what torch logged; set TORCH_LOGS)")
@click.option("--strict", is_flag=True, help="count warn as failure")
@click.option("--quiet", is_flag=True, help="no progress on stderr")
@click.option("--list", "list_only", is_flag=True, help="list probes and variants, then exit")
@click.option("--policy", default=None,
              help="the built-in pi0-shaped policy of this size instead of one layer "
                   "(--list shows the sizes)")
@click.option("--cold-start", "cold_start", is_flag=True,
              help="measure every way to cut the cold compile, each in a fresh process with "
                   "empty caches (several whole compiles)")
@click.option("--calls", type=int, default=None,
              help="policy calls per episode, for the cold-start trade (default 500)")
@click.option("--ticket", default=None, metavar="DIR", help="a folder for a bug ticket: the "
              "reports, torch-only repro scripts, TORCH_TRACE logs, a README")
@click.option("--details", is_flag=True,
              help="after the first screen, the full tables (cells, state writes, call "
                   "patterns, knobs, ladder)")
def diagnose(device, variants, modes, cudagraphs, shape, wbits, abits, block, act_pct, permute,
             iters, timeout, jobs, seed, probes, patterns, json_path, md_path, log_path, strict,
             quiet, list_only, policy, details, cold_start, calls, ticket):
    """Compile the probe in every mode, with and without CUDA graphs, and find the rung."""
    # cheap checks first: no torch needed
    if iters < 3:
        fail(f"--iters {iters}: expected at least 3 (the overwrite error needs a later call)")
    if timeout is not None and timeout <= 0:
        fail(f"--timeout {timeout:g}: expected a positive number of seconds")
    if jobs is not None and jobs < 1:
        fail(f"--jobs {jobs}: expected at least 1")
    _check_out_path("--json", json_path)
    _check_out_path("--markdown", md_path)
    _check_out_path("--log", log_path)
    if probes and variants:
        fail("--probe and --variant are exclusive: a probe's cells are named after its factory")
    if probes and policy:
        fail("--probe and --policy are exclusive: --policy builds the built-in policy")
    from .vocab.callpatterns import PATTERNS

    for p in patterns:
        if p not in PATTERNS:
            fail(f"--call-pattern {p!r}: expected one of {', '.join(PATTERNS)}")

    if list_only:
        from .plan.listing import listing

        click.echo(listing())
        return
    # Start the workers now: they import torch while this process checks the rest.
    from .diagnose import start_pool
    from .plan.cells import DiagnoseOptions
    from .report.ticket import TicketWriteError

    pool = start_pool(DiagnoseOptions(jobs=jobs or 0, device=device))
    try:
        from .plan.options import OptionError, diagnose_options

        try:
            options = diagnose_options(device, variants, modes, cudagraphs, shape, wbits, abits,
                                       block, act_pct, permute, iters, timeout, jobs, seed,
                                       probes, strict, patterns, policy, cold_start,
                                       calls, ticket)
        except OptionError as e:
            fail(str(e))
        from .diagnose import diagnose as run_diagnosis

        if log_path:
            open(log_path, "w").close()  # a fresh log for this run
        report = run_diagnosis(options, quiet=quiet, pool=pool, log_path=log_path)
    except TicketWriteError as e:  # the cells ran; the folder could not be written
        fail(str(e), EXIT_PROBE)
    except KeyboardInterrupt:
        pool.close()
        fail("interrupted before any cell finished", EXIT_INTERRUPTED)
    except BaseException:  # a refused input (SystemExit) or an internal error
        pool.close()
        if log_path and not isinstance(sys.exc_info()[1], SystemExit):
            _log_traceback(log_path)
        raise
    _write_reports(report, json_path, md_path)
    click.echo(report.render("table" if details else "screen"))
    if report.interrupted:
        click.echo("compilecheck: interrupted; finished cells are reported, the rest are "
                   "marked skip (interrupted)", err=True)
        sys.exit(EXIT_INTERRUPTED)
    from .classify.cells import INTERNAL

    internal = [c for c in report.cells if (c.error or "").startswith(INTERNAL)]
    if internal:
        for tb in dict.fromkeys(c.traceback for c in internal if os.environ.get(DEBUG_ENV)):
            click.echo((tb or "").rstrip(), err=True)
        click.echo(f"compilecheck: {len(internal)} cell(s) hit an internal error ({internal[0].error}); "
                   "the report is written (each such cell's `traceback`, folded in the markdown; "
                   "`compilecheck --debug diagnose ...` prints it)", err=True)
        sys.exit(EXIT_PROBE)
    eager_failed = [c for c in report.cells if c.mode == "eager" and c.status == "fail"]
    if eager_failed:
        click.echo(f"compilecheck: the probe fails even in eager ({eager_failed[0].variant}: "
                   f"{eager_failed[0].error}); nothing to compile", err=True)
        sys.exit(EXIT_PROBE)
    sys.exit(report.exit_code(strict))


def _write_reports(report, json_path, md_path):
    from .env.files import write_atomic

    for path, fmt in ((json_path, "json"), (md_path, "markdown")):
        if path:
            try:
                write_atomic(path, report.render(fmt))
            except OSError as e:
                click.echo(f"compilecheck: error: cannot write {path}: {e.strerror}", err=True)
                sys.exit(EXIT_PROBE)
            click.echo(f"compilecheck: wrote {path}", err=True)


# --------------------------------------------------------------------------- env
@main.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--strict", is_flag=True, help="exit 1 when a set variable has no effect or is "
                                             "a trap")
def env(as_json, strict):
    """The environment block and the compile-knob lint."""
    from .env.environment import environment
    from .env.knobs import failing, lint

    block = environment()
    knobs = lint()
    if as_json:
        click.echo(json.dumps({"environment": block, "knobs": knobs}, indent=2, default=str))
    else:
        from .report.render import env_text

        click.echo(env_text(block, knobs))
    sys.exit(1 if strict and failing(knobs) else 0)


# --------------------------------------------------------------------------- explain
@main.command()
@click.argument("source", required=False, default="-")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def explain(source, as_json):
    """Classify an existing log or traceback (FILE, or - for standard input)."""
    from .explain.command import ExplainError, explain_stream, open_source

    try:
        stream = open_source(source)
    except ExplainError as e:
        fail(str(e))
    try:
        result = explain_stream(stream)
    except ExplainError as e:
        fail(str(e))
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else str(result))


# --------------------------------------------------------------------------- report
@main.command("report")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["screen", "table", "markdown", "json"]),
              default="table", show_default=True,
              help="screen: the first screen only; table: it and the full tables")
def report_cmd(path, fmt):
    """Re-render a saved report."""
    from .report.report import Report, ReportError

    try:
        rep = Report.load(path)
    except ReportError as e:
        fail(str(e))
    click.echo(rep.render(fmt))


# --------------------------------------------------------------------------- compare
@main.command("compare")
@click.argument("paths", nargs=-1, metavar="A.json B.json [C.json ...]")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]),
              default="table", show_default=True)
def compare_cmd(paths, fmt):
    """Reports side by side (earliest first), differences first; exit 1 on a regression."""
    from .report.compare_layout import compared
    from .report.report import ReportError

    try:
        text, code = compared(list(paths), fmt)
    except ReportError as e:
        fail(str(e))
    click.echo(text)
    sys.exit(code)


def _log_traceback(path: str):
    import traceback

    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write("==> compilecheck internal error <==\n" + traceback.format_exc())
    except OSError:
        pass


def run(argv=None):
    """The console script: click's usage errors as one line too, exit 2; a bug of ours as one
    line, exit 3 (the traceback with --debug)."""
    try:
        code = main.main(args=argv, prog_name="compilecheck", standalone_mode=False)
    except click.UsageError as e:
        where = f"{e.ctx.command_path}: " if e.ctx else ""
        fail(f"{where}{e.format_message()}")
    except click.Abort:
        fail("interrupted", EXIT_INTERRUPTED)
    except click.ClickException as e:
        fail(e.format_message())
    except Exception as e:  # a bug of compilecheck's own
        if os.environ.get(DEBUG_ENV):
            raise
        fail(f"internal error (a bug in compilecheck): {type(e).__name__}: {e}; run "
             "`compilecheck --debug ...` for the traceback", EXIT_PROBE)
    sys.exit(code or 0)


def main_script():
    """The console script and `python -m compilecheck`: the process ends as soon as the
    command has (its reports are written and flushed; tearing down a loaded torch takes half
    a second more)."""
    try:
        run()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    run()
