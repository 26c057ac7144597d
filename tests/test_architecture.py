"""The layers of tracker/ (docs/ARCHITECTURE.md), checked on the import graph.

Each package may import only the packages below it; every import is at the top of its module.
The graph is read from the source with `ast`, so an import hidden anywhere is seen."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

TRACKER = Path(__file__).resolve().parent.parent / "tracker"

# package -> the tracker packages its modules may import (besides itself). "tracker" is the
# application factory in tracker/__init__.py, which wires everything together.
MAY_IMPORT = {
    "core": set(),
    "domain": set(),
    "data": {"core", "domain"},
    "reports": {"core", "domain", "data"},
    "security": {"core", "domain", "data"},
    "services": {"core", "domain", "data", "reports"},
    "mail": {"core", "domain", "data", "reports", "security"},
    "web": {"core", "domain", "reports", "services", "security"},
    "cli": {"core", "domain", "reports", "services", "security", "mail"},  # security: unlock-account
    "tracker": {"core", "domain", "data", "reports", "security", "services", "web", "cli", "mail"},
}

# Outside libraries a layer must not use: the rules and the maths are pure; views and commands
# never run SQL themselves (queries and services do).
MUST_NOT_USE = {
    "domain": {"flask", "flask_login", "flask_sqlalchemy", "sqlalchemy", "werkzeug"},
    "tracker.reports.metrics": {"flask", "flask_sqlalchemy", "sqlalchemy"},
    "tracker.reports.charts": {"flask", "flask_sqlalchemy", "sqlalchemy"},
    "data": {"flask"},
    "reports": {"flask", "flask_login"},
    "services": {"flask", "flask_login"},
    "mail": {"flask_login"},
    "web": {"sqlalchemy"},
    "cli": {"sqlalchemy"},
}
# Modules of an allowed package that a layer still must not import: reports never write.
MUST_NOT_IMPORT = {"reports": {"tracker.data.database"}}
# Reading the wall clock: only tracker.core.clock may (time is passed in everywhere else).
WALL_CLOCK = {"now", "utcnow", "today", "time"}


def _package_of(module: str) -> str:
    """'tracker.web.ops' -> 'web'; 'tracker' -> 'tracker'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "tracker"


def _module_name(path: Path) -> str:
    relative = path.relative_to(TRACKER.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The tracker modules an import statement names (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == "tracker"]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "tracker":
        return []
    if node.module is None or target == "tracker":  # `from tracker import web` names subpackages
        return [f"{target}.{alias.name}" for alias in node.names]
    return [target]


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every import in `source` (the module `module`) that breaks the layer rules."""
    tree = ast.parse(source)
    found = []
    own = _package_of(module)
    allowed = MAY_IMPORT[own] | {own}
    top_level = set(map(id, tree.body))
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if id(node) not in top_level and not _guarded_top_level(tree, node):
            found.append(f"{module}:{node.lineno}: import inside a function or class")
        for library in _libraries(node):
            if library in MUST_NOT_USE.get(own, set()) | MUST_NOT_USE.get(module, set()):
                found.append(f"{module}:{node.lineno}: uses {library}, which {own} must not")
        for target in _imported(node, module, is_package):
            package = _package_of(target)
            if package not in MAY_IMPORT:  # a name from tracker/__init__.py, e.g. create_app
                package = "tracker"
            if target in MUST_NOT_IMPORT.get(own, set()):
                found.append(f"{module}:{node.lineno}: imports {target}, which {own} must not")
            if package not in allowed:
                found.append(f"{module}:{node.lineno}: imports {target} ({own} may import only "
                             f"{', '.join(sorted(MAY_IMPORT[own])) or 'nothing else from tracker'})")
    if module != "tracker.core.clock":
        found += [f"{module}:{node.lineno}: reads the wall clock ({_call_name(node)}); take `at` or use core.clock"
                  for node in ast.walk(tree) if _reads_wall_clock(node)]
    return found


def _call_name(node: ast.Call) -> str:
    return f"{ast.unparse(node.func)}()"


def _reads_wall_clock(node: ast.AST) -> bool:
    """datetime.now(), datetime.utcnow(), date.today(), time.time() and the like."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = ast.unparse(node.func.value).split(".")[-1]
    return node.func.attr in WALL_CLOCK and owner in {"datetime", "date", "time"}


def _libraries(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    return [node.module.split(".")[0]] if node.module and not node.level else []


def _guarded_top_level(tree: ast.Module, node: ast.AST) -> bool:
    """An import directly under a module-level `if TYPE_CHECKING:` still counts as a top-level import."""
    return any(isinstance(statement, ast.If) and ast.unparse(statement.test).endswith("TYPE_CHECKING")
               and node in statement.body for statement in tree.body)


def _modules():
    for path in sorted(TRACKER.rglob("*.py")):
        yield path, _module_name(path)


def test_every_module_belongs_to_a_layer():
    strays = [name for path, name in _modules() if _package_of(name) not in MAY_IMPORT]
    assert not strays, f"modules outside the layers of MAY_IMPORT: {strays}"


def test_every_package_says_what_it_owns_and_never_imports():
    for package in MAY_IMPORT:
        if package == "tracker":
            continue
        docstring = ast.get_docstring(ast.parse((TRACKER / package / "__init__.py").read_text()))
        assert docstring and ("never" in docstring.lower() or "nothing else" in docstring), package


@pytest.mark.parametrize("path,module", [(p, m) for p, m in _modules()], ids=[m for _, m in _modules()])
def test_imports_follow_the_layers(path, module):
    assert violations(path.read_text(), module, path.name == "__init__.py") == []


@pytest.mark.parametrize("source,module,problem", [
    ("from tracker.web import ops\n", "tracker.reports.queries", "imports tracker.web "),
    ("from ..web.forms import LoginForm\n", "tracker.cli.commands", "imports tracker.web.forms"),
    ("from tracker import services\n", "tracker.domain.lifecycle", "imports tracker.services"),
    ("def f():\n    from tracker.core import clock\n", "tracker.web.ops", "import inside a function"),
    ("from tracker import create_app\n", "tracker.web.ops", "imports tracker.create_app"),
    ("from sqlalchemy import select\n", "tracker.web.ops", "uses sqlalchemy"),
    ("import flask\n", "tracker.domain.health", "uses flask"),
    ("from flask import request\n", "tracker.services.accounts", "uses flask"),
    ("from tracker.data.database import unit_of_work\n", "tracker.reports.queries", "which reports must not"),
    ("from datetime import datetime\nx = datetime.now()\n", "tracker.domain.health", "reads the wall clock"),
    ("import datetime\nx = datetime.date.today()\n", "tracker.web.ops", "reads the wall clock"),
    ("import time\nx = time.time()\n", "tracker.services.seed", "reads the wall clock"),
    ("if DEBUG:\n    def f():\n        import os\n", "tracker.web.ops", "import inside a function"),
])
def test_the_check_catches_a_broken_rule(source, module, problem):
    found = violations(source, module)
    assert any(problem in line for line in found), found


def test_the_check_accepts_allowed_imports():
    source = ("from __future__ import annotations\nimport os\nfrom tracker.core import clock\n"
              "from tracker.domain.lifecycle import State\nfrom . import queries\n")
    assert violations(source, "tracker.reports.metrics") == []
