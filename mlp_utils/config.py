"""The course's two environment switches: the seed every run starts from, and CI's quick mode.

* ``MLP_COURSE_SEED`` (default 0) shifts every seed the course uses, in every notebook and in
  this package: :func:`course_seed` adds it. A claim that holds only for one seed is no claim.
* ``MLP_COURSE_QUICK=1`` makes :func:`budget` return its smaller value, so CI can run every
  code path with fewer trials and epochs. Readers get the full settings.
"""
from __future__ import annotations

import os
from typing import TypeVar

__all__ = ["budget", "course_seed", "in_notebook", "is_quick"]

SEED_ENV_VAR = "MLP_COURSE_SEED"
QUICK_ENV_VAR = "MLP_COURSE_QUICK"
T = TypeVar("T")


def course_seed(offset: int = 0) -> int:
    """``$MLP_COURSE_SEED + offset``: the seed of the ``offset``-th run of an experiment."""
    text = os.environ.get(SEED_ENV_VAR, "0").strip() or "0"
    try:
        base = int(text)
    except ValueError:
        raise ValueError(f"{SEED_ENV_VAR} must be an integer such as 0 or 17, got {text!r}") from None
    return base + int(offset)


def is_quick() -> bool:
    """True when ``$MLP_COURSE_QUICK`` is set to something other than '', '0', 'false' or 'no'."""
    return os.environ.get(QUICK_ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


def budget(full: T, quick: T) -> T:
    """``full`` normally, ``quick`` when the quick switch is on."""
    return quick if is_quick() else full


def in_notebook() -> bool:
    """True in a Jupyter kernel (JupyterLab, Colab, VS Code, nbval), where bars and plots show."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")
