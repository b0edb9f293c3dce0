"""The course's two switches: ``$MLP_COURSE_SEED`` shifts every seed, ``$MLP_COURSE_QUICK=1`` cuts budgets."""
from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")


def course_seed(offset: int = 0) -> int:
    """``$MLP_COURSE_SEED + offset``: the seed of the ``offset``-th run of an experiment."""
    text = os.environ.get("MLP_COURSE_SEED", "0").strip() or "0"
    try:
        return int(text) + int(offset)
    except ValueError:
        raise ValueError(f"MLP_COURSE_SEED must be an integer such as 0 or 17, got {text!r}") from None


def seed_or_default(seed: int | None) -> int:
    """``seed``, or :func:`course_seed` when it is ``None``: every default seed of the package."""
    return course_seed() if seed is None else int(seed)


def budget(full: T, quick: T) -> T:
    """``full`` normally, ``quick`` when ``$MLP_COURSE_QUICK`` is set (not '', '0', 'false' or 'no')."""
    quick_mode = os.environ.get("MLP_COURSE_QUICK", "").strip().lower() not in ("", "0", "false", "no")
    return quick if quick_mode else full


def in_notebook() -> bool:
    """True in a Jupyter kernel (JupyterLab, Colab, VS Code, nbval), where bars and plots show."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return hasattr(get_ipython(), "kernel")  # None outside IPython, a terminal shell has no kernel
