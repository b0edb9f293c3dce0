"""A learner's Run All, timed: with the book's stored explorer runs, and without them.

    python tools/learner_seconds.py chapters/05_training.ipynb chapters/ex8_activations.ipynb

Each notebook is executed twice from a fresh kernel at readers' settings, side by side in one
run, as a learner's kernel would run it (no ``$MLP_COURSE_STORE``, nothing written back):

* **now**: the precomputed explorers find their runs stored in ``mlp_utils/stored/`` (made by
  ``make execute``) and only draw them;
* **without stored runs** (how every learner's kernel ran before the runs were stored): the
  kernel looks for them in an empty folder (``$MLP_COURSE_STORED_DIR``), so each explorer
  trains its grid in the kernel. Nothing in the repository is moved or written.

Prints one row per notebook: seconds now, seconds without, and what the stored runs save.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient



def run_all(path: Path, timeout: int) -> float:
    """Seconds for a learner's Run All of ``path`` (a fresh kernel, outputs discarded)."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    for name in ("MLP_COURSE_STORE", "MLP_COURSE_QUICK"):
        os.environ.pop(name, None)  # a learner's kernel, at readers' settings
    rows = []
    for path in args.notebooks:
        now = run_all(path.resolve(), args.timeout)
        with tempfile.TemporaryDirectory() as empty:
            os.environ["MLP_COURSE_STORED_DIR"] = empty  # the kernel inherits it
            try:
                without = run_all(path.resolve(), args.timeout)
            finally:
                del os.environ["MLP_COURSE_STORED_DIR"]
        rows.append((path.name, now, without))
        print(f"{path.name}: {now:.0f} s now, {without:.0f} s without stored runs", flush=True)
    print(f"\n{'notebook':<28}{'now (s)':>9}{'without (s)':>13}{'saved (s)':>11}")
    for name, now, without in rows:
        print(f"{name:<28}{now:>9.0f}{without:>13.0f}{without - now:>11.0f}")
    total_now, total_without = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'all':<28}{total_now:>9.0f}{total_without:>13.0f}{total_without - total_now:>11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
