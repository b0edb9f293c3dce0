"""Every notebook agrees with _config.yml: Colab badge, install cell, kernel name, GPU request."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import stamp_notebooks  # noqa: E402


def test_every_notebook_is_stamped_from_the_one_repository_url():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "stamp_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_notebook_that_disagrees_is_caught_and_fixed(tmp_path):
    url, branch = stamp_notebooks.repository()
    notebook = nbformat.read(ROOT / "chapters" / "01_data.ipynb", as_version=4)
    owner_repo = url.removeprefix("https://github.com/")
    assert f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/chapters/01_data.ipynb" \
        in notebook.cells[0].source
    notebook.cells[0].source = notebook.cells[0].source.replace(owner_repo, "someone/else")
    notebook.metadata["kernelspec"]["display_name"] = "Python 3"
    del notebook.metadata["accelerator"]
    assert stamp_notebooks.stamp(notebook, "chapters/01_data.ipynb", url, branch) == ["badge", "kernelspec", "accelerator"]
    assert stamp_notebooks.stamp(notebook, "chapters/01_data.ipynb", url, branch) == []
    assert "https://colab.research.google.com/assets/colab-badge.svg" in notebook.cells[0].source
