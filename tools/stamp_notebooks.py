"""Stamp every notebook with what must agree across the course, from one place (_config.yml).

    python tools/stamp_notebooks.py           # rewrite what differs
    python tools/stamp_notebooks.py --check   # only report; exit 1 if a notebook disagrees

What is stamped into each ``chapters/*.ipynb``:

* the *Open in Colab* badge (an absolute image URL, so a copy saved to Drive still shows it)
  pointing at this notebook in the repository named by ``repository.url`` and ``branch``;
* the first code cell, which installs ``mlp_utils`` from that repository on Colab only, at the
  tag named after ``pyproject.toml``'s version (``v0.3.0``), so a notebook and the package it
  imports never drift apart (installing it never replaces Colab's torch or ipywidgets: its
  requirements are loose);
* the metadata: the kernel name JupyterLab itself writes, and Colab's request for a GPU;
* the exercise cells: a cell tagged ``exercise`` holds the reader's stub and its check, which
  says "not written yet" without raising, so Run All reaches the end in every front end; no
  cell is tagged ``raises-exception`` (Colab ignores the tag). A cell tagged ``solution`` is
  folded in all three front ends, under one label: in the book by ``hide-cell`` with myst-nb's
  ``code_prompt_show``, in JupyterLab by ``jupyter.source_hidden`` and ``outputs_hidden``, and
  on Colab by its form view (a ``# @title`` first line and ``cellView: "form"``). The label is
  the cell's own ``# @title`` line where it has one, else "Solution";
* the claim cells: a cell whose only output is ticked claims (``check(...)`` lines, "✓ ...")
  is folded as what it is for a reader, one line that says how many statements of the text this
  run checked: in the book a ``hide-cell`` toggle labelled "✓ 4 statements checked against this
  run", in JupyterLab its source hidden, on Colab its form view titled the same way.
"""
from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE = re.compile(r"\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)")
INSTALL = '''# On Colab, install the course's helper package first (locally, `make` has installed it).
import sys
if "google.colab" in sys.modules:
    %pip install -q "mlp_utils @ git+{url}@{ref}"'''
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
COLAB = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}
SOLUTION_TAGS = ("hide-cell",)         # the book shows it behind a toggle, outputs included
SOLUTION_HIDDEN = {"source_hidden": True, "outputs_hidden": True}  # JupyterLab collapses both
TITLE = re.compile(r"^# @title (.+)$")  # Colab's form view: the title line is all it shows
DEFAULT_TITLE = "Solution"
CLAIMS_TITLE = "✓ Statements of the text, checked against this run"


def repository() -> tuple[str, str]:
    """The repository URL and branch from _config.yml, checked for shape."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url, branch = config["repository"]["url"].rstrip("/"), config["repository"].get("branch", "main")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise SystemExit(f"_config.yml: repository.url must look like https://github.com/OWNER/REPO, got {url!r}")
    return url, branch


def package_ref() -> str:
    """The tag the install cells name: ``v`` and ``pyproject.toml``'s version."""
    return "v" + tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def stamp(notebook: nbformat.NotebookNode, relative: str, url: str, branch: str) -> list[str]:
    """Bring ``notebook`` (at ``relative`` in the repository) in line, in memory; return what changed."""
    changes = []
    owner_repo = url.removeprefix("https://github.com/")
    badge = (f"[![Open in Colab]({BADGE_IMAGE})](https://colab.research.google.com/github/"
             f"{owner_repo}/blob/{branch}/{relative})")
    first_md = next(c for c in notebook.cells if c.cell_type == "markdown")
    if not BADGE.search(first_md.source):
        raise SystemExit(f"{relative}: its first markdown cell has no 'Open in Colab' badge to stamp")
    new_md = BADGE.sub(lambda _: badge, first_md.source, count=1)
    if new_md != first_md.source:
        first_md.source, changes = new_md, changes + ["badge"]
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    if "google.colab" not in first_code.source:
        raise SystemExit(f"{relative}: its first code cell is not the Colab install cell")
    install = INSTALL.format(url=url, ref=package_ref())
    if first_code.source != install:
        first_code.source, changes = install, changes + ["install cell"]
    metadata = notebook.metadata
    if metadata.get("kernelspec") != KERNELSPEC:
        metadata["kernelspec"], changes = dict(KERNELSPEC), changes + ["kernelspec"]
    for key, value in COLAB.items():
        if metadata.get(key) != value:
            metadata[key], changes = value, changes + [key]
    for number, cell in enumerate(notebook.cells):
        if stamp_exercise(cell, f"{relative}, cell {number}") or stamp_claims(cell):
            changes.append(f"cell {number}")
    return changes


def toggle_labels(title: str) -> tuple[str, str]:
    """The book's toggle labels for a solution titled ``title``: "Show: The sweep", and for a
    fill-in's "Solution: the loss", "Show the solution: the loss" (not "Show: Solution: ...")."""
    if title.startswith("Solution: "):
        rest = title.removeprefix("Solution: ")
        return f"Show the solution: {rest}", f"Hide the solution: {rest}"
    return f"Show: {title}", f"Hide: {title}"


def stamp_exercise(cell: nbformat.NotebookNode, where: str) -> bool:
    """Tags and metadata of an ``exercise`` or ``solution`` cell, in memory; True if changed."""
    tags = list(cell.metadata.get("tags", []))
    kinds = {"exercise", "solution"} & set(tags)
    if not kinds:
        return False
    if len(kinds) == 2 or cell.cell_type != "code":
        raise SystemExit(f"{where}: a code cell is tagged either 'exercise' or 'solution', not both")
    before = nbformat.from_dict(dict(cell))
    if "exercise" in kinds:
        tags = [t for t in tags if t != "raises-exception"]
    else:
        tags += [t for t in SOLUTION_TAGS if t not in tags]
        cell.metadata["jupyter"] = {**cell.metadata.get("jupyter", {}), **SOLUTION_HIDDEN}
        first, _, rest = cell.source.partition("\n")
        match = TITLE.match(first)
        title = match.group(1).strip() if match else DEFAULT_TITLE
        if not match:
            cell.source = f"# @title {title}\n{cell.source}"
        cell.metadata["cellView"] = "form"
        show, hide = toggle_labels(title)
        cell.metadata["mystnb"] = {**cell.metadata.get("mystnb", {}),
                                   "code_prompt_show": show, "code_prompt_hide": hide}
    cell.metadata["tags"] = tags
    return dict(cell) != dict(before)


def claim_count(cell: nbformat.NotebookNode) -> int:
    """How many ticked claims the cell's stored outputs hold, if they hold nothing else; else 0."""
    if cell.cell_type != "code" or not cell.get("outputs"):
        return 0
    if not all(o.output_type == "stream" and o.name == "stdout" for o in cell.outputs):
        return 0
    lines = [line for o in cell.outputs for line in o.text.splitlines() if line.strip()]
    return len(lines) if lines and all(line.startswith("✓ ") for line in lines) else 0


def stamp_claims(cell: nbformat.NotebookNode) -> bool:
    """Fold a cell of ticked claims under one line that counts them, in memory; True if changed."""
    tags = list(cell.metadata.get("tags", []))
    count = claim_count(cell)
    if not count or {"exercise", "solution"} & set(tags):
        return False
    before = nbformat.from_dict(dict(cell))
    label = f"✓ {count} statement{'s' * (count > 1)} of the text checked against this run"
    cell.metadata["tags"] = [t for t in tags if t != "hide-input"] + ([] if "hide-cell" in tags else ["hide-cell"])
    cell.metadata["mystnb"] = {**cell.metadata.get("mystnb", {}),
                               "code_prompt_show": label, "code_prompt_hide": f"Hide: {label}"}
    cell.metadata["jupyter"] = {**cell.metadata.get("jupyter", {}), "source_hidden": True}
    cell.metadata["cellView"] = "form"
    first = cell.source.partition("\n")[0]
    if not TITLE.match(first):
        cell.source = f"# @title {CLAIMS_TITLE}\n{cell.source}"
    return dict(cell) != dict(before)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report disagreements, change nothing")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapters/*.ipynb")
    args = parser.parse_args(argv)
    url, branch = repository()
    wrong = []
    for path in [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        changes = stamp(notebook, path.relative_to(ROOT).as_posix(), url, branch)
        if changes:
            wrong.append(f"{path.relative_to(ROOT)}: {', '.join(changes)}")
            if not args.check:
                nbformat.write(notebook, path)
    verb = "disagrees with _config.yml" if args.check else "stamped"
    for line in wrong:
        print(f"{verb}: {line}")
    if args.check and wrong:
        print("Run `python tools/stamp_notebooks.py` to stamp them.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
