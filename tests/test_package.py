"""The package's top level: exactly the names the notebooks import, one import line per notebook."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import mlp_utils

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _package_imports(path: Path) -> list[ast.AST]:
    """Every statement of the notebook's code cells that imports from mlp_utils."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or "google.colab" in cell.source:  # the Colab install cell
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlp_utils":
                found.append(node)
            elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "mlp_utils" for a in node.names):
                found.append(node)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_imports_the_package_in_one_line(path):
    statements = _package_imports(path)
    assert len(statements) == 1, f"{path.name}: {len(statements)} import statements of mlp_utils, expected one"
    (statement,) = statements
    assert isinstance(statement, ast.ImportFrom) and statement.module == "mlp_utils", \
        f"{path.name}: import the names from the top level, `from mlp_utils import (...)`"


def test_the_top_level_exports_exactly_what_the_notebooks_import():
    imported = {alias.name for path in NOTEBOOKS for node in _package_imports(path)
                for alias in getattr(node, "names", [])}
    assert sorted(mlp_utils.__all__) == sorted(imported)
    for name in mlp_utils.__all__:
        assert getattr(mlp_utils, name) is not None, name


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Traner'"):
        mlp_utils.Traner  # noqa: B018


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_trainer_module_and_the_train_function_live_side_by_side():
    out = _python("import mlp_utils, mlp_utils.trainer as t\n"
                  "from mlp_utils import train\n"
                  "print(t.Trainer.__name__, mlp_utils.train is train, callable(train), "
                  "train.__module__, mlp_utils.trainer is t)")
    assert out.split() == ["Trainer", "True", "True", "mlp_utils.experiments", "True"]


def test_importing_the_package_loads_neither_optuna_nor_the_widgets():
    out = _python("import sys, mlp_utils\n"
                  "print(sorted(m for m in ('optuna', 'ipywidgets', 'matplotlib', 'torch') if m in sys.modules))")
    assert out.strip() == "[]"
