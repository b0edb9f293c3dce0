"""Knowing whether we run inside a Jupyter kernel (JupyterLab, Colab, VS Code, nbval)."""
from __future__ import annotations

__all__ = ["in_notebook"]


def in_notebook() -> bool:
    """True when running in a Jupyter kernel, where progress bars and live plots can be shown."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")
