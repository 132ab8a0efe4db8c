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


def scrub_truncated(folder: str | None, older_than: float = 600.0) -> int:
    """Remove the truncated shared libraries in inductor's cache ``folder`` (an ELF file whose
    section headers lie past its end: a build killed before this release cleared it, or any
    process's); loading one fails every later compile of its kernel ("file too short"). Files
    written in the last ``older_than`` seconds are left: another process may be building them.
    Returns how many were removed."""
    import struct

    if not folder or not os.path.isdir(folder):
        return 0
    removed, before = 0, time.time() - older_than
    for root, _, files in os.walk(folder):
        for name in files:
            if not name.endswith(".so"):
                continue
            path = os.path.join(root, name)
            try:
                size = os.path.getsize(path)
                if os.path.getmtime(path) > before:
                    continue
                with open(path, "rb") as f:
                    head = f.read(64)
                if len(head) < 64:
                    cut = True  # no library is this short: the build stopped at once
                elif head[:4] != b"\x7fELF":
                    continue  # not an ELF library (another platform): not ours to judge
                else:
                    end = "<" if head[5] == 1 else ">"
                    wide = head[4] == 2
                    shoff = struct.unpack_from(end + ("Q" if wide else "I"), head,
                                               0x28 if wide else 0x20)[0]
                    entsize, count = struct.unpack_from(end + "HH", head,
                                                        0x3A if wide else 0x2E)
                    cut = shoff + entsize * count > size
                if cut:
                    os.unlink(path)
                    removed += 1
            except (OSError, struct.error):
                continue
    return removed
