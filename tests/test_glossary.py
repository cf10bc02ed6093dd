"""CONTRIBUTING.md's glossary, enforced on the code: one name per concept."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "probekit"
BANNED_ARGUMENTS = {"show_progress": "progress", "n_rows": "n_samples", "d_module": "d_model"}
#: Dimension names that drifted from the glossary's (in docstrings; ``n_rows`` stays a
#: manifest key on disk).
BANNED_WORDS = re.compile(r"\b(n_rows|d_module)\b")


def _trees():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE.parent), ast.parse(path.read_text())


def _is_estimator(cls: ast.ClassDef) -> bool:
    return any(getattr(b, "id", getattr(b, "attr", "")) == "BaseEstimator" for b in cls.bases)


def _functions(tree):
    """(function, enclosing class or None) for every def in a module."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node, None
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    yield item, node


def _arguments(fn: ast.FunctionDef) -> list[str]:
    return [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]


def test_argument_names_follow_the_glossary():
    bad = []
    for path, tree in _trees():
        for fn, cls in _functions(tree):
            args = _arguments(fn)
            bad += [f"{path}:{fn.lineno} {fn.name}({a}) -> {BANNED_ARGUMENTS[a]}" for a in args if a in BANNED_ARGUMENTS]
            if cls is not None and _is_estimator(cls) and fn.name == "__init__" and "seed" in args:
                bad.append(f"{path}:{fn.lineno} estimator {cls.name} takes seed -> random_state")
            if cls is None and not fn.name.startswith("_") and "random_state" in args:
                bad.append(f"{path}:{fn.lineno} function {fn.name} takes random_state -> seed")
    assert not bad, "\n".join(bad)


def test_config_fields_say_progress_not_show_progress():
    bad = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                    and node.target.id in BANNED_ARGUMENTS:
                bad.append(f"{path}:{node.lineno} field {node.target.id} -> {BANNED_ARGUMENTS[node.target.id]}")
    assert not bad, "\n".join(bad)


def test_one_to_dict_and_no_drifting_dimension_names():
    bad = []
    for path, tree in _trees():
        for fn, cls in _functions(tree):
            if cls is not None and fn.name == "as_dict":
                bad.append(f"{path}:{fn.lineno} {cls.name}.as_dict -> to_dict")
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
                found = BANNED_WORDS.findall(ast.get_docstring(node) or "")
                bad += [f"{path}:{getattr(node, 'lineno', 0)} docstring says {w}" for w in sorted(set(found))]
    assert not bad, "\n".join(bad)


def test_results_name_the_hook_point():
    from dataclasses import fields

    from probekit.probes import ProbeResult
    from probekit.report.tables import RESULT_COLUMNS

    names = [f.name for f in fields(ProbeResult)]
    assert "hook_point" in names and "module" not in names
    assert "hook_point" in RESULT_COLUMNS and "module" not in RESULT_COLUMNS
