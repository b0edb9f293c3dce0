"""Installing the course on Colab must not replace Colab's ipywidgets, and a notebook must run.

Colab's runtime (its published package list) holds ipywidgets 7.7.1 and IPython 7.34; upgrading
ipywidgets there stops core widgets and tqdm bars from showing. This test builds a fresh venv
holding those versions, installs the package the way the notebooks' first cell does (pip, from
the repository), and checks that ipywidgets is still 7.7.1; then it runs chapter 5 (data,
training, the explorer and its precomputed grid) in that venv, in quick mode.

Takes a few minutes (a venv with torch); ``make test`` runs it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COLAB = ["ipywidgets==7.7.1", "ipython==7.34.0", "ipykernel==6.17.1", "nbclient", "nbformat"]


def _pins(*names: str) -> list[str]:
    """The course's own pins for ``names`` (torch's wheels are on our machines' disks)."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.split("==")[0].strip() in names]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def colab_python(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("colab") / "venv"
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(pip + _pins("torch", "torchvision") + COLAB)
    return python


def _version(python: Path, module: str) -> str:
    return _run([str(python), "-c", f"import {module}; print({module}.__version__)"]).stdout.strip()


@pytest.mark.slow
def test_installing_the_course_keeps_colabs_ipywidgets_and_a_notebook_runs(colab_python, tmp_path):
    assert _version(colab_python, "ipywidgets") == "7.7.1"
    # what the install cell does, with the repository as a local folder instead of its URL
    _run([str(colab_python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)])
    assert _version(colab_python, "ipywidgets") == "7.7.1", "installing mlp_utils replaced Colab's ipywidgets"
    assert _version(colab_python, "IPython") == "7.34.0", "installing mlp_utils replaced Colab's IPython"
    notebook = ROOT / "chapters" / "05_training.ipynb"
    script = (
        "import nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        f"nb = nbformat.read({str(notebook)!r}, as_version=4)\n"
        f"NotebookClient(nb, timeout=900, kernel_name='python3', "
        f"resources={{'metadata': {{'path': {str(tmp_path)!r}}}}}).execute()\n"
        "print('ran', len(nb.cells), 'cells')\n")
    env = {**os.environ, "MLP_COURSE_QUICK": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "JUPYTER_PATH": str(colab_python.parent.parent / "share" / "jupyter")}
    result = _run([str(colab_python), "-c", script], env=env, cwd=tmp_path)
    assert "ran" in result.stdout
