"""The one switch that lets CI run long sweeps with fewer trials or epochs.

Readers get the full settings. Setting the environment variable ``MLP_COURSE_QUICK=1`` (the
Makefile's ``make test`` does, for CI) makes :func:`budget` return the smaller value. Every code
path still runs; only counts shrink.
"""
from __future__ import annotations

import os
from typing import TypeVar

__all__ = ["QUICK_ENV_VAR", "budget", "is_quick"]

QUICK_ENV_VAR = "MLP_COURSE_QUICK"
T = TypeVar("T")


def is_quick() -> bool:
    """True when ``$MLP_COURSE_QUICK`` is set to something other than '', '0' or 'false'."""
    return os.environ.get(QUICK_ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


def budget(full: T, quick: T) -> T:
    """``full`` normally, ``quick`` when the quick switch is on."""
    return quick if is_quick() else full
