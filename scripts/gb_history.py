"""Mine torch's history of its graph-break messages: which wording an older torch raised at the
call site where today's torch raises a registry break type (issue 28).

    python scripts/gb_history.py NEW_ROOT OLD_ROOT [OLD_ROOT ...] > compilecheck/classify/gblegacy.py

(issue 28 ran it with 2.13.0 as NEW_ROOT and 2.0.1, 2.1.2, 2.2.2, 2.3.1, 2.4.1, 2.5.1, 2.6.0,
2.7.1, 2.8.0, 2.9.1: each `pip download torch==V --no-deps --only-binary=:all: --platform
macosx_11_0_arm64 --python-version 3.11`, the smallest wheel, unzipped.)

Each ROOT is a folder holding a released torch's `torch/` package (a wheel unpacked: the
Python sources of every platform's wheel are the same, so a small one serves). NEW_ROOT is the
torch whose `unimplemented(gb_type=...)` calls name today's break types (2.10 or later); each
OLD_ROOT is an older torch whose `unimplemented(msg)` / `unimplemented_v2(gb_type=...)` calls
are read. Call sites are aligned by the function that holds them (`Class.method`, whatever
file it moved to), and each older message goes to the break type of that function whose
words (type and explanation) it shares most, where that is clear (two words at least, more
than any other type there). An older message becomes a row only where it keeps enough fixed
text to say something.

The output is a Python module of data: one row per older message (break type, the torch
versions that raised it, the message with `{}` for each value).
"""
import ast
import os
import re
import sys

MIN_LITERAL = 22  # characters of fixed text a pattern needs
MIN_CHUNK = 12  # and one fixed piece at least this long
HOLE = "\x00"


def _template(node, assigns) -> list:
    """The message templates an argument can be (placeholders as HOLE)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            else:
                parts.append(HOLE)
        return ["".join(parts)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        left, right = _template(node.left, assigns), _template(node.right, assigns)
        if isinstance(node.op, ast.Mod):
            return [re.sub(r"%[-\d.]*[sdrfi]", HOLE, t) for t in left]
        return [a + b for a in (left or [HOLE]) for b in (right or [HOLE])][:8]
    if isinstance(node, ast.Name) and node.id in assigns:
        out = []
        for value in assigns[node.id]:
            out += _template(value, {})
        return out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr == "format" and isinstance(node.func.value, ast.Constant):
        return [re.sub(r"\{[^{}]*\}", HOLE, str(node.func.value.value))]
    return []


def _calls(tree):
    """{qualname: [("msg", [templates]) | ("type", gb_type, explanation)]} in source order."""
    out = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                assigns = {}
                for sub in ast.walk(child):
                    if isinstance(sub, ast.Assign) and len(sub.targets) == 1 and \
                            isinstance(sub.targets[0], ast.Name):
                        assigns.setdefault(sub.targets[0].id, []).append(sub.value)
                for sub in ast.walk(child):
                    if not isinstance(sub, ast.Call):
                        continue
                    fn = sub.func
                    fname = fn.id if isinstance(fn, ast.Name) else \
                        fn.attr if isinstance(fn, ast.Attribute) else None
                    if fname not in ("unimplemented", "unimplemented_v2",
                                     "unimplemented_with_warning"):
                        continue
                    kw = {k.arg: k.value for k in sub.keywords if k.arg}
                    if "gb_type" in kw:
                        gb = kw["gb_type"]
                        if isinstance(gb, ast.Constant) and isinstance(gb.value, str):
                            expl = _template(kw["explanation"], assigns) \
                                if "explanation" in kw else []
                            out.setdefault(name, []).append(("type", gb.value, " ".join(expl)))
                        continue
                    args = list(sub.args)
                    if fname == "unimplemented_with_warning":
                        args = args[2:]
                    arg = args[0] if args else kw.get("msg")
                    if arg is not None:
                        out.setdefault(name, []).append(("msg", _template(arg, assigns)))
                visit(child, f"{name}.")

    visit(tree, "")
    return out


def read_root(root: str) -> dict:
    base = os.path.join(root, "torch", "_dynamo")
    found = {}
    for folder, _, files in os.walk(base):
        for f in files:
            if not f.endswith(".py"):
                continue
            try:
                with open(os.path.join(folder, f), encoding="utf-8") as fh:
                    tree = ast.parse(fh.read())
            except (SyntaxError, UnicodeDecodeError):
                continue
            for name, calls in _calls(tree).items():
                found.setdefault(name, []).extend(calls)
    return found


# words every message of dynamo may use: they say nothing about which break it is
_COMMON = set("""torch compile compiled dynamo support supported unsupported does with this that
function functions call calls calling called graph break breaks from have when user code only
into your please will would there their expected got into than then these those which while
tensor tensors object objects value values type types argument arguments args kwargs""".split())


def _words(text: str) -> set:
    return {w for w in re.findall(r"[a-z_]{4,}", text.lower())} - _COMMON


def _keep(template: str) -> str | None:
    """The older message as a row keeps it (`{}` for a value, white space as one space), or
    None where it has too little fixed text to say which break it is."""
    chunks = [" ".join(c.split()) for c in template.split(HOLE)]
    literal = "".join(chunks)
    if len(literal) < MIN_LITERAL or max(len(c) for c in chunks) < MIN_CHUNK:
        return None
    return "{}".join(c.replace("{}", "{ }") for c in chunks).strip()


def mine(new: dict, old: dict) -> list:
    """[(older message, gb_type)] for the older messages of the functions today's torch still has."""
    out = []
    for name, calls in old.items():
        olds = [c[1] for c in calls if c[0] == "msg" and c[1]]
        news = [c for c in new.get(name, []) if c[0] == "type"]
        if not olds or not news:
            continue
        types = [c[1] for c in news]
        # the break type whose words (type and explanation) the older message shares most,
        # where that is clear: two words at least, more than any other type of the function
        pairs = []
        for ts in olds:
            for t in ts:
                w = _words(t)
                score = {}
                for c in news:
                    score[c[1]] = max(score.get(c[1], 0), len(w & _words(c[1] + " " + c[2])))
                ranked = sorted(score.items(), key=lambda kv: -kv[1])
                if ranked[0][1] >= 2 and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
                    pairs.append((t, ranked[0][0]))
        for t, gb in pairs:
            kept = _keep(t)
            if kept:
                out.append((kept, gb))
    return out


def _version(root: str) -> str:
    path = os.path.join(root, "torch", "version.py")
    try:
        with open(path, encoding="utf-8") as f:
            m = re.search(r"__version__\s*=\s*['\"]([^'\"+]+)", f.read())
            return m.group(1) if m else os.path.basename(root.rstrip("/"))
    except OSError:
        return os.path.basename(root.rstrip("/")).lstrip("v")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    new_root, old_roots = argv[0], argv[1:]
    new = read_root(new_root)
    seen = {}  # older message -> [gb_type, first, last]
    for root in old_roots:
        v = _version(root)
        for msg, gb in mine(new, read_root(root)):
            entry = seen.setdefault(msg, [gb, v, v])
            entry[2] = v
    rows = sorted(seen.items(), key=lambda kv: (kv[1][0], kv[0]))
    print('"""torch\'s older wordings of today\'s graph-break types, mined from the sources of '
          'released\ntorches by scripts/gb_history.py (regenerate, do not edit): each row is '
          'today\'s break type,\nthe torch versions that raised the older message, and that '
          'message (`{}` for a value).\n'
          f'Today\'s side: torch {_version(new_root)}; older: '
          f'{", ".join(_version(r) for r in old_roots)}."""\n')
    print('ROWS = """\\')
    for msg, (gb, first, last) in rows:
        span = first if first == last else f"{first}-{last}"
        print(f"{gb}\t{span}\t{msg}".replace("\\", "\\\\").replace('"""', '\\"\\"\\"'))
    print('"""')


if __name__ == "__main__":
    main(sys.argv[1:])
