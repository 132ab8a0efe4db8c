"""The layout shows the flow (docs/architecture.md): one subpackage per stage, imports only
downwards between stages, the faces at the top, small modules. Read from the sources' own
import statements (those inside functions too), not from a list kept by hand."""
import ast
import pathlib
import re

import compilecheck

PKG = pathlib.Path(compilecheck.__file__).parent
# lowest first: a stage may import its own modules and those of the stages before it
STAGES = ["vocab", "env", "observe", "plan", "run", "classify", "decide", "report", "explain"]
FACES = {"__init__", "__main__", "cli", "api", "pytest_plugin", "diagnose"}


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("")
        yield path, list(rel.parts)


def _imports(path, parts):
    """(line, absolute dotted name under compilecheck) of every import in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + (node.module.split(".") if node.module else [])
                names = [target + [a.name] for a in node.names] if not node.module else [target]
            elif node.module and node.module.startswith("compilecheck"):
                names = [node.module.split(".")[1:]]
            else:
                continue
            for n in names:
                yield node.lineno, n
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("compilecheck."):
                    yield node.lineno, a.name.split(".")[1:]


def _stage(parts):
    """The stage of a module or import target: a subpackage name, 'face', 'root' or 'probes'."""
    if not parts:
        return "root"
    if parts[0] == "probes":
        return "probes"
    if parts[0] in STAGES:
        return parts[0]
    return "face" if parts[0] in FACES else "root"


def test_every_module_lives_in_a_stage_or_is_a_face():
    top = [p[0] for _, p in _modules() if len(p) == 1]
    assert set(top) <= FACES, f"top-level modules that are not faces: {set(top) - FACES}"
    assert len(top) <= 10
    packages = {p[0] for _, p in _modules() if len(p) > 1}
    assert packages == set(STAGES), packages ^ set(STAGES)


def test_imports_only_go_downwards_between_stages():
    wrong = []
    for path, parts in _modules():
        here = _stage(parts)
        if here == "face":
            continue
        for line, target in _imports(path, parts):
            there = _stage(target)
            if there in ("probes",) or (there == "root" and target in (["SCHEMA"], ["__version__"],
                                                                        ["USER_ENVIRON"])):
                continue  # the built-in probes and the package root's constants
            if there == "face" or there == "root" or STAGES.index(there) > STAGES.index(here):
                wrong.append(f"{path.relative_to(PKG)}:{line} ({here}) imports "
                             f"{'.'.join(target)} ({there})")
    assert not wrong, "upward imports:\n" + "\n".join(wrong)


def test_each_stage_says_what_it_owns_and_may_import_and_the_code_agrees():
    for i, stage in enumerate(STAGES):
        doc = ast.get_docstring(ast.parse((PKG / stage / "__init__.py").read_text()))
        assert doc and "May import:" in doc, stage
        said = doc.split("May import:")[1]
        for lower in STAGES[:i]:
            assert lower in said or "every stage below" in said, (stage, lower)
        for higher in STAGES[i + 1:]:
            assert not re.search(rf"\b{higher}\b", said), (stage, higher)


def test_no_module_is_much_over_300_lines():
    long = {str(p.relative_to(PKG)): n for p, _ in _modules()
            if (n := len(p.read_text().splitlines())) > 320}
    assert not long, long


def test_the_architecture_doc_names_every_module():
    doc = (PKG.parent / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(PKG)) for p, parts in _modules()
               if parts[-1] != "__init__" and "/".join(parts) + ".py" not in doc]
    assert not missing, f"docs/architecture.md does not name: {missing}"
