"""The package's layers, read from the source: what each may import, and no environment writes.

Arrows run one way: lambdas -> app -> core, adapters (aws) implement app's ports,
offline and analysis sit on top, the CLI above all; no module imports one that imports
it back, lazily (inside a function) or not. What ships to Lambda (core, app, aws, lambdas)
must import nothing the Lambda runtime lacks: the test of the asset's file list is
in tests/cdk/test_cdk_stack.py, the import of the asset in a runtime-like venv in
the CDK rehearsal test.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[2] / "pipeline"
SHIPPED = ("core", "app", "aws", "lambdas")
# Never in a module that ships, even imported lazily inside a function.
OFFLINE_ONLY = ("moto", "duckdb", "sqlglot", "pandas", "pyarrow", "numpy", "matplotlib",
                "papermill", "redshift_connector")
# Besides the standard library, what each shipped layer may import.
ALLOWED: dict[str, tuple[str, ...]] = {
    "core": ("pipeline.core",),
    "app": ("pipeline.core", "pipeline.app", "aws_lambda_powertools"),
    "aws": ("pipeline.core", "pipeline.aws", "boto3", "botocore", "mypy_boto3_"),
    "lambdas": ("pipeline.core", "pipeline.app", "pipeline.aws", "pipeline.lambdas",
                "aws_lambda_powertools"),
}
ENVIRON_WRITERS = {"update", "pop", "popitem", "setdefault", "clear", "__setitem__",
                   "__delitem__"}


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute import in the file, at any depth (lazy imports count too)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def is_allowed(name: str, allowed: tuple[str, ...]) -> bool:
    top = name.split(".")[0]
    if top in sys.stdlib_module_names or top == "__future__":
        return True
    return any(name == a or name.startswith(a if a.endswith("_") else a + ".") for a in allowed)


def offending_imports(layer: str, refused: Callable[[str], bool]) -> list[str]:
    """`path:line imports name` for every import in `layer` that `refused` says no to."""
    return [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in modules(layer)
        for line, name in imports(path)
        if refused(name)
    ]


@pytest.mark.parametrize("layer", SHIPPED)
def test_a_shipped_layer_never_imports_the_offline_twins_libraries(layer: str) -> None:
    assert offending_imports(layer, lambda name: name.split(".")[0] in OFFLINE_ONLY) == []


@pytest.mark.parametrize("layer", SHIPPED)
def test_a_shipped_layer_imports_only_the_layers_below_it(layer: str) -> None:
    assert offending_imports(layer, lambda name: not is_allowed(name, ALLOWED[layer])) == []


def test_the_handlers_import_with_the_offline_twins_libraries_absent() -> None:
    """The static checks above, confirmed by importing: every offline-only library blocked."""
    code = (
        "import sys\n"
        f"for name in {OFFLINE_ONLY!r}: sys.modules[name] = None\n"
        "import pipeline.lambdas.loader, pipeline.lambdas.publisher, pipeline.lambdas.drain\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def environ_writes(path: Path) -> list[str]:
    """Assignments, deletions and mutating calls on os.environ, and os.putenv / os.unsetenv."""
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def is_environ(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "environ"
                and isinstance(node.value, ast.Name) and node.value.id == "os")

    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                a.name == "environ" for a in node.names):
            found.append(f"{node.lineno}: from os import environ (use os.environ, read only)")
        elif isinstance(node, ast.Subscript) and is_environ(node.value) and isinstance(
                node.ctx, ast.Store | ast.Del):
            found.append(f"{node.lineno}: os.environ[...] assigned or deleted")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func
            if is_environ(target.value) and target.attr in ENVIRON_WRITERS:
                found.append(f"{node.lineno}: os.environ.{target.attr}(...)")
            elif (isinstance(target.value, ast.Name) and target.value.id == "os"
                  and target.attr in ("putenv", "unsetenv")):
                found.append(f"{node.lineno}: os.{target.attr}(...)")
    return found


def test_no_module_writes_the_process_environment() -> None:
    """Wiring is by arguments: settings are passed in, never planted in os.environ."""
    offenders = {
        str(path.relative_to(PACKAGE.parent)): writes
        for path in sorted(PACKAGE.rglob("*.py"))
        if (writes := environ_writes(path))
    }
    assert offenders == {}


def test_the_environment_write_detector_sees_each_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom os import environ\n"
        "os.environ['A'] = '1'\ndel os.environ['A']\nos.environ.update({})\n"
        "os.environ.setdefault('B', '2')\nos.putenv('C', '3')\n"
        "value = os.environ.get('D')\nread = os.environ['E']\n"
    )
    assert [w.split(":")[0] for w in environ_writes(sample)] == ["2", "3", "4", "5", "6", "7"]


# Every layer of the package, bottom to top: a module may import its own layer and the ones
# before it, never one after (lazily or not). `pipeline/__init__.py` holds the version only.
LAYERS = ("core", "app", "aws", "lambdas", "offline", "analysis", "cli")


def layer_of(name: str) -> str | None:
    """The layer of an absolute `pipeline.<layer>...` import (None outside the package)."""
    parts = name.split(".")
    if parts[0] != "pipeline":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "pipeline"


def test_every_module_of_the_package_is_in_a_layer() -> None:
    stray = [str(p.relative_to(PACKAGE.parent)) for p in sorted(PACKAGE.rglob("*.py"))
             if p.relative_to(PACKAGE).parts[0] not in LAYERS and p.name != "__init__.py"]
    assert stray == [], "a module outside the layers (put it in the layer it belongs to)"


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_itself_and_the_layers_below(layer: str) -> None:
    below = LAYERS[: LAYERS.index(layer) + 1]

    def refused(name: str) -> bool:
        found = layer_of(name)
        if found is None:
            return False
        if found == "pipeline":  # `from pipeline import __version__`: the CLI's only
            return layer != "cli"
        return found not in below

    assert offending_imports(layer, refused) == []


def runtime_imports(path: Path) -> list[str]:
    """The absolute imports that run (at import or in a function), not `if TYPE_CHECKING:`."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING",
                                                                    "typing.TYPE_CHECKING"):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def module_graph(package: Path) -> dict[str, set[str]]:
    """Each module of `package` and the package's modules it imports, at any depth."""
    root = package.name

    def name_of(path: Path) -> str:
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name_of(p): p for p in package.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(name) for name in runtime_imports(path) if name.split(".")[0] == root}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `graph`: its strongly connected components of two or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_in_the_package_lazy_imports_included() -> None:
    assert cycles(module_graph(PACKAGE)) == []


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def later():\n    from pkg.a import x\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nimport pkg.a\n"
                                  "if TYPE_CHECKING:\n    from pkg.d import y\n")
    (package / "d.py").write_text("import pkg.c\n")  # c -> d only for the type checker
    assert cycles(module_graph(package)) == [["pkg.a", "pkg.sub.b"]]
