"""compilecheck's own files: its cache folder, writing a file so that a crash never leaves
half of one, and clearing the half-built kernels a killed worker leaves in inductor's cache."""
from __future__ import annotations

import os
import tempfile
import time


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "compilecheck")


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: never half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".compilecheck-", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file would be, not mkstemp's 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


BUILT = (".so", ".o", ".pyd", ".dll", ".cubin")  # what a compiler writes in place, not atomically


def scrub_builds(folder: str | None, seconds: float) -> int:
    """Remove what a compiler wrote into inductor's cache ``folder`` in the last ``seconds``:
    a worker killed (time-out, crash) while it built a kernel leaves a truncated library
    there, and the next compile of the same kernel loads it and fails ("file too short"). A
    kernel another worker built meanwhile is only built again. Returns how many were removed."""
    if not folder or not os.path.isdir(folder):
        return 0
    since, removed = time.time() - seconds, 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            try:
                if name.endswith(BUILT) and os.path.getmtime(path) >= since:
                    os.unlink(path)
                    removed += 1
            except OSError:  # gone already, or not ours to remove
                continue
    return removed
