"""Copy the chapters with every ``solution`` cell removed, to run them as a reader who skipped
every exercise would.

    python tools/without_solutions.py DEST     # writes DEST/chapters/*.ipynb (and its images)

Each exercise stub raises ``NotImplementedError`` inside the reader's function, and its check
says "not written yet" without raising (no cell is tagged ``raises-exception``, which Colab
ignores); no later cell may depend on the reader's answer, so every copied notebook must run
top to bottom, as Run All does on Colab.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def strip(notebook: nbformat.NotebookNode) -> int:
    """Remove the solution cells in memory; return how many there were."""
    before = len(notebook.cells)
    notebook.cells = [c for c in notebook.cells if "solution" not in c.metadata.get("tags", [])]
    return before - len(notebook.cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    target = args.dest / "chapters"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT / "chapters", target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    total = 0
    for path in sorted(target.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        removed = strip(notebook)
        total += removed
        nbformat.write(notebook, path)
        print(f"{path.name}: {removed} solution cell(s) removed")
    print(f"{total} solution cells removed in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
