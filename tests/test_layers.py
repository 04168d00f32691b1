"""The layer rules of STYLE.md, checked on every module's imports and calls."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "transforms": {
        "prefect",
        "duckdb",
        "requests",
        "urllib3",
        "httpx",
        "pyarrow",
        "flows",
        "warehouse",
        "socket",
        "http",
        "waybackpy",
        "subprocess",
    },
    "warehouse": {
        "prefect",
        "requests",
        "urllib3",
        "httpx",
        "flows",
        "socket",
        "http",
        "waybackpy",
    },
    "flows": set(),
}
# transforms may not touch files, the environment or the clock
FORBIDDEN_CALLS = {
    "transforms": {
        "open",
        "os.environ",
        "os.getenv",
        "datetime.now",
        "datetime.utcnow",
        "time.time",
        "date.today",
    }
}
HTTP_MODULES = {"requests", "urllib3", "httpx", "waybackpy"}


def modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer):
    assert modules(layer), f"no modules found in {layer}/"
    bad = []
    for path in modules(layer):
        found = imported(ast.parse(path.read_text(), str(path))) & FORBIDDEN[layer]
        bad += [f"{path.relative_to(ROOT)} imports {name}" for name in sorted(found)]
    assert not bad, "\n".join(bad)


def test_transforms_do_no_io_and_read_no_clock():
    bad = []
    for path in modules("transforms"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            name = dotted(node.func) if isinstance(node, ast.Call) else dotted(node)
            if name in FORBIDDEN_CALLS["transforms"]:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {name}")
    assert not bad, "\n".join(bad)


def test_no_layer_imports_flows():
    # flows is the top layer; only what drives it (tests, and bench, which runs
    # the flows as the CLI does) may import it
    bad = [
        f"{p.relative_to(ROOT)}"
        for layer in ("transforms", "warehouse")
        for p in (ROOT / layer).rglob("*.py")
        if "flows" in imported(ast.parse(p.read_text()))
    ]
    assert not bad, bad


def test_http_lives_in_one_client_module_without_prefect():
    users = [p for p in modules("flows") if imported(ast.parse(p.read_text())) & HTTP_MODULES]
    assert [p.name for p in users] == ["client.py"]
    assert "prefect" not in imported(ast.parse((ROOT / "flows" / "client.py").read_text()))


def test_flows_hold_no_sql():
    bad = []
    for path in modules("flows"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.upper()
                if any(
                    k in text for k in ("SELECT ", "INSERT INTO", "CREATE TABLE", "DELETE FROM")
                ):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, bad
