"""The indicator modules do not import the ``engine`` facade (which imports them): no import circle."""

import ast
from pathlib import Path

import observatory.analytics as pkg

FACADE = "observatory.analytics.engine"


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported by ``path`` outside ``if TYPE_CHECKING:`` blocks (those never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_no_analytics_module_imports_the_engine_facade():
    folder = Path(pkg.__file__).parent
    offenders = [p.name for p in sorted(folder.glob("*.py"))
                 if p.name not in {"engine.py", "__init__.py"} and FACADE in _runtime_imports(p)]
    assert offenders == [], f"these modules import the engine facade at run time: {offenders}"
