"""Write each figure's description (alt text) into its cell's metadata, from chapters/alt_text.json.

    python tools/alt_text.py           # write what differs
    python tools/alt_text.py --check   # only report; exit 1 if a figure has no description

myst-nb gives a notebook's image outputs the alt text in the cell's ``mystnb.image.alt`` metadata;
without one, the book's <img> says only the image's file name, which is what a screen reader
reads aloud. The descriptions live in one JSON file, keyed by notebook and cell id, so they can be
read and edited together; a figure cell missing from it is an error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ROOT / "chapters" / "alt_text.json"


def figure_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The code cells whose stored outputs hold an image."""
    return [c for c in notebook.cells if c.cell_type == "code"
            and any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report missing descriptions, change nothing")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapters/*.ipynb")
    args = parser.parse_args(argv)
    texts = json.loads(TEXTS.read_text())
    missing = []
    for path in [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        mine = texts.get(path.stem, {})
        changed = False
        for cell in figure_cells(notebook):
            alt = mine.get(cell.id)
            if not alt:
                missing.append(f"{path.name}, cell {cell.id}: {cell.source.splitlines()[0][:70]!r}")
                continue
            image = cell.metadata.setdefault("mystnb", {}).setdefault("image", {})
            if image.get("alt") != alt:
                if args.check:
                    missing.append(f"{path.name}, cell {cell.id}: its stored description differs; run the tool")
                image["alt"], changed = alt, True
        if changed and not args.check:
            nbformat.write(notebook, path)
            print(f"described the figures of {path.name}")
    for line in missing:
        print(f"no description: {line}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
