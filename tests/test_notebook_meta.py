"""Every notebook agrees with _config.yml: Colab badge, install cell, kernel name, GPU request."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

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


NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _markdown(notebook) -> str:
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_has_objectives_time_questions_and_a_fill_in(path):
    notebook = nbformat.read(path, as_version=4)
    text = _markdown(notebook)
    for heading in ("**Objectives.**", "**Prerequisites.**", "**Time.**", "## Check your understanding"):
        assert heading in text, f"{path.name}: no {heading!r}"
    assert text.count(":::{dropdown}") >= 3, f"{path.name}: the questions' answers belong in dropdowns"
    exercises = [i for i, c in enumerate(notebook.cells) if "exercise" in c.metadata.get("tags", [])]
    assert exercises, f"{path.name}: no fill-in exercise (a cell tagged 'exercise')"
    for i in exercises:
        stub, solution = notebook.cells[i], notebook.cells[i + 1]
        assert "todo(" in stub.source or "NotImplementedError" in stub.source, \
            f"{path.name}, cell {i}: an exercise stub raises NotImplementedError (todo(...)) with a hint"
        assert "solution" in solution.metadata.get("tags", []), \
            f"{path.name}, cell {i}: an exercise cell is followed by its solution cell"
        last_line = [line for line in stub.source.splitlines() if line.strip()][-1]
        assert last_line in solution.source, \
            f"{path.name}, cell {i}: the solution repeats the exercise's check line {last_line!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_run_all_needs_no_tag_and_solutions_are_folded_in_every_front_end(path):
    """Colab ignores cell tags and ``jupyter.source_hidden``: no cell may rely on
    ``raises-exception`` to let Run All go on, and each solution is folded three ways."""
    notebook = nbformat.read(path, as_version=4)
    for i, cell in enumerate(notebook.cells):
        tags = cell.metadata.get("tags", [])
        assert "raises-exception" not in tags, f"{path.name}, cell {i}: Run All must not depend on raises-exception"
        if "solution" not in tags:
            continue
        title = cell.source.splitlines()[0]
        assert title.startswith("# @title "), f"{path.name}, cell {i}: Colab's form view needs a '# @title' first line"
        assert cell.metadata.get("cellView") == "form", f"{path.name}, cell {i}: Colab folds only cellView 'form'"
        assert "hide-cell" in tags, f"{path.name}, cell {i}: the book folds a solution with hide-cell"
        assert cell.metadata["mystnb"]["code_prompt_show"] == \
            stamp_notebooks.toggle_labels(title.removeprefix("# @title ").strip())[0]
        assert "Show: Solution" not in cell.metadata["mystnb"]["code_prompt_show"]
        assert cell.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}, \
            f"{path.name}, cell {i}: JupyterLab folds a solution with jupyter.source_hidden and outputs_hidden"


def test_every_figure_has_a_description():
    """A screen reader reads an image's alt text aloud: every figure of the book has one
    (tools/alt_text.py writes them from chapters/alt_text.json)."""
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "alt_text.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_claim_cells_are_folded_under_one_line_that_counts_them(path):
    """A cell that only prints ticked claims reads, for a learner, as one line: how many
    statements of the text this run checked (the claims themselves one click away)."""
    notebook = nbformat.read(path, as_version=4)
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or "solution" in cell.metadata.get("tags", []):
            continue
        lines = [line for o in cell.get("outputs", []) if o.get("output_type") == "stream"
                 for line in o.text.splitlines() if line.strip()]
        if not (lines and all(line.startswith("✓ ") for line in lines)
                and all(o.output_type == "stream" for o in cell.outputs)):
            continue
        n = len(lines)
        assert cell.metadata.get("mystnb", {}).get("code_prompt_show", "").startswith(f"✓ {n} statement"), \
            f"{path.name}, cell {i}: {n} ticked claims, folded under a line that counts them"
        assert "hide-cell" in cell.metadata.get("tags", []) and cell.metadata.get("cellView") == "form"
        assert cell.source.startswith("# @title "), f"{path.name}, cell {i}: Colab's form view needs a title"


# What a reader must not meet in the code they read: the test set-up.
TEST_SETUP = ("budget(", "is_quick", "quick mode", "MLP_COURSE_QUICK", "(CI)", "for CI")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_reader_cells_hold_readers_settings_and_their_quick_sizes_fit(path):
    """The smaller sizes of the notebook tests live in cell metadata (tools/quick_copies.py),
    each substitution matching its cell's code exactly once."""
    import quick_copies

    notebook = nbformat.read(path, as_version=4)
    for i, cell in enumerate(notebook.cells):
        for word in TEST_SETUP:
            assert word.lower() not in cell.source.lower(), \
                f"{path.name}, cell {i}: reader-visible text mentions the test set-up ({word!r})"
    quick_copies.shrink(notebook, path.name)  # raises QuickError where a substitution no longer fits


def test_a_quick_substitution_that_no_longer_fits_is_an_error():
    import quick_copies

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("EPOCHS = 10\nprint(EPOCHS)"),
                                               nbformat.v4.new_code_cell("check(True, 'slow claim')")])
    notebook.cells[0].metadata["quick"] = {"EPOCHS = 10": "EPOCHS = 2"}
    notebook.cells[1].metadata["quick"] = "skip"
    assert quick_copies.shrink(notebook) == 2
    assert [c.source for c in notebook.cells] == ["EPOCHS = 2\nprint(EPOCHS)"]
    stale = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("EPOCHS = 12")])
    stale.cells[0].metadata["quick"] = {"EPOCHS = 10": "EPOCHS = 2"}
    with pytest.raises(quick_copies.QuickError, match="occurs 0 times"):
        quick_copies.shrink(stale, "stale.ipynb")


def test_every_install_cell_names_the_tag_of_the_package_version():
    """The Colab install cell installs the package at ``v<version>``, the version the package
    itself reports, so a notebook never runs against a newer or older mlp_utils."""
    import tomllib

    import mlp_utils
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert mlp_utils.__version__ == version, "mlp_utils.__version__ and pyproject.toml disagree"
    for path in NOTEBOOKS:
        install = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        refs = re.findall(r"git\+https://github\.com/[\w.-]+/[\w.-]+@([\w.-]+)", install.source)
        assert refs == [f"v{version}"], f"{path.name}: its install cell names {refs}, not v{version}"
