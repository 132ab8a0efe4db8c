"""compilecheck: does a quantized layer survive torch.compile, and which fallback to take."""
import os as _os

__version__ = "0.1.0"
# The environment as the user set it, before torch (which sets some variables itself, e.g.
# TORCHINDUCTOR_CACHE_DIR) is imported: the knob lint judges what the USER set.
USER_ENVIRON = dict(_os.environ)
SCHEMA = "compilecheck.report/2"

# From a source checkout, ``compilecheck.probes`` lives in the top-level ``probes/`` folder
# (a wheel installs it as compilecheck/probes). Let the package find it there too, so that
# ``python -m compilecheck`` works from the repository root.
_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "probes")) and _os.path.isfile(
    _os.path.join(_root, "probes", "__init__.py")
):
    __path__.append(_root)  # type: ignore[name-defined]
