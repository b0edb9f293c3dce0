"""Remove every ``solution`` cell from a notebook, to run it as a reader who skipped every
exercise would; then, at the end, the fill-ins' solutions run once more.

    python tools/quick_copies.py --without-solutions DEST   # the copies (DEST/chapters/*.ipynb)

Each exercise stub raises ``NotImplementedError`` inside the reader's function, and its check
says "not written yet" without raising (no cell is tagged ``raises-exception``, which Colab
ignores); no later cell may depend on the reader's answer, so every copied notebook must run
top to bottom, as Run All does on Colab.

The solution of each fill-in (the ``solution`` cell right after an ``exercise`` cell) is then
appended to the end of the copy: a reader who scrolls back after running the whole page and
runs a fill-in again must find every name it reads as the fill-in left it, so no later cell may
rebind one. Those appended cells' outputs are not compared, only that they run.
"""
from __future__ import annotations

import nbformat
from nbconvert.preprocessors import TagRemovePreprocessor


def strip(notebook: nbformat.NotebookNode) -> int:
    """Remove the solution cells in memory and append the fill-ins' solutions at the end, to run
    after the whole page; return how many solution cells there were."""
    cells = notebook.cells
    rerun = [nbformat.from_dict(dict(cells[i + 1])) for i, c in enumerate(cells[:-1])
             if "exercise" in c.metadata.get("tags", []) and "solution" in cells[i + 1].metadata.get("tags", [])]
    before = len(cells)
    notebook, _ = TagRemovePreprocessor(remove_cell_tags={"solution"}).preprocess(notebook, {})
    kept = notebook.cells
    for cell in rerun:
        cell.metadata["tags"] = ["nbval-ignore-output"]
    header = nbformat.v4.new_markdown_cell("Each fill-in's solution again, after the whole page has run.")
    notebook.cells = kept + ([header] + rerun if rerun else [])
    return before - len(kept)
