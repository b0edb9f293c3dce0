"""Copy the chapters for the notebook tests: at quick sizes, and optionally without solutions.

    python tools/quick_copies.py --quick DEST [NOTEBOOK ...]          # DEST/chapters/*.ipynb
    python tools/quick_copies.py --quick --without-solutions DEST     # ... and no solution cells

Readers' cells hold the readers' settings only (``EPOCHS = 10``). The smaller sizes the tests
run with live in each cell's metadata, under ``"quick"``:

* a mapping ``{"EPOCHS = 10": "EPOCHS = 2"}``: each key must occur exactly once in the cell's
  source and is replaced by its value;
* the string ``"skip"``: the cell is left out (a claim that holds only at readers' settings).

A key that no longer occurs in its cell is an error, so the quick sizes cannot silently drift
away from the code they shrink. ``--without-solutions`` also removes every ``solution`` cell and
appends the fill-ins' solutions at the end (see ``tools/without_solutions.py``).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from without_solutions import strip  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class QuickError(ValueError):
    """A cell's ``quick`` metadata does not fit its source."""


def shrink(notebook: nbformat.NotebookNode, name: str = "notebook") -> int:
    """Apply every cell's ``quick`` metadata in memory; return how many cells it changed or dropped."""
    kept, changed = [], 0
    for index, cell in enumerate(notebook.cells):
        quick = cell.metadata.get("quick")
        if quick is None:
            kept.append(cell)
            continue
        changed += 1
        if quick == "skip":
            continue
        if not isinstance(quick, dict) or not quick:
            raise QuickError(f"{name}, cell {index}: metadata 'quick' must be \"skip\" or a "
                             f"non-empty mapping of source text to its replacement, got {quick!r}")
        source = cell.source
        for old, new in quick.items():
            count = source.count(old)
            if count != 1:
                raise QuickError(f"{name}, cell {index}: the quick substitution {old!r} occurs {count} "
                                 f"times in the cell's source (it must occur exactly once); edit the "
                                 f"cell's metadata 'quick' to match the code")
            source = source.replace(old, new)
        cell.source = source
        kept.append(cell)
    notebook.cells = kept
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapters/*.ipynb")
    parser.add_argument("--quick", action="store_true", help="apply the cells' quick sizes")
    parser.add_argument("--without-solutions", action="store_true", help="remove the solution cells")
    args = parser.parse_args(argv)
    target = args.dest / "chapters"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT / "chapters", target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb"))
    sources = [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in sources:
        notebook = nbformat.read(path, as_version=4)
        notes = []
        if args.quick:
            notes.append(f"{shrink(notebook, path.name)} cell(s) at quick sizes")
        if args.without_solutions:
            notes.append(f"{strip(notebook)} solution cell(s) removed")
        nbformat.write(notebook, target / path.name)
        print(f"{path.name}: {', '.join(notes) or 'copied'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
