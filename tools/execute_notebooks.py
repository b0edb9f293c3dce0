"""Re-execute notebooks in place from a fresh kernel, saving outputs and widget state.

    python tools/execute_notebooks.py                 # every notebook under chapters/
    python tools/execute_notebooks.py chapters/05_training.ipynb

This is the only way committed outputs are made: one clean top-to-bottom run per notebook,
with the full settings readers see (the CI quick switch is turned off here). It is also the one
place the precomputed explorers' runs are made: they are stored in mlp_utils/stored/, and a
reader's kernel draws them from there instead of training them again.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from stamp_notebooks import repository, stamp

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path, timeout: int) -> float:
    """Run ``path`` top to bottom in its own folder and write the outputs back; return seconds."""
    notebook = nbformat.read(path, as_version=4)
    stamp(notebook, path.relative_to(ROOT).as_posix(), *repository())  # exercise stubs may raise
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True, record_timing=False)
    start = time.perf_counter()
    client.execute()
    stamp(notebook, path.relative_to(ROOT).as_posix(), *repository())  # kernel name, badge, GPU request
    nbformat.write(notebook, path)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapters/*.ipynb")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    args = parser.parse_args()
    os.environ.pop("MLP_COURSE_QUICK", None)  # committed outputs use the readers' settings
    os.environ["MLP_COURSE_STORE"] = "1"  # the precomputed explorers' runs are made here and stored
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in notebooks:
        print(f"executing {path} ...", flush=True)
        seconds = execute(path.resolve(), args.timeout)
        print(f"  done in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
