"""Checks for chapter 8's fill-in (the debugging guide)."""
from __future__ import annotations

from typing import Any, Callable

import torch

from .core import AnswerError, _shape, answer_check, attempt

__all__ = ["check_dead_fraction"]

# ----------------------------------------------------------------------------------------------
# Chapter 8 (debugging guide): checks of the reader's dead_fraction
# ----------------------------------------------------------------------------------------------

@answer_check
def check_dead_fraction(dead_fraction: Callable[[torch.Tensor], Any]) -> None:
    """Check the reader's ``dead_fraction(H)`` on small matrices built to expose the usual mistakes.

    ``dead_fraction(H)`` must return the fraction of units (columns of ``H``, shape
    (examples, units)) that are exactly 0 for every example (row). Prints a tick or raises
    :class:`AnswerError` naming the mistake: counting zero entries instead of dead units,
    reducing over the wrong dimension, counting negative values, returning a count instead
    of a fraction, or returning something that is not one number.
    """
    if not callable(dead_fraction):
        raise TypeError(f"check_dead_fraction: pass your function itself, got {type(dead_fraction).__name__}")
    # 4 examples x 5 units: units 0 and 3 are zero for every example (dead); unit 1 is zero on
    # some examples only; row 2 is zero on every unit (a "dead example", not a dead unit).
    H = torch.tensor([[0.0, 0.0, 1.0, 0.0, 2.0],
                      [0.0, 3.0, 0.5, 0.0, 1.0],
                      [0.0, 0.0, 0.0, 0.0, 0.0],
                      [0.0, 1.0, 2.0, 0.0, 4.0]])
    negative = H.clone()
    negative[:, 1] = -negative[:, 1]  # unit 1 is now negative or zero: not dead, not zero everywhere
    entries = "the fraction of zero ENTRIES; a unit is dead only if its whole column is zero: " \
              "use (H == 0).all(dim=0)"
    rows = "the fraction of EXAMPLES (rows) that are all zero; units are the columns: reduce over " \
           "dim=0 (the examples), e.g. (H == 0).all(dim=0)"
    count = "a count of dead units; divide by the number of units (take the mean)"
    cases = [("H", H, 2 / 5, {12 / 20: entries, 1 / 4: rows, 2: count}),
             ("H[:3]", H[:3], 2 / 5, {10 / 15: entries, 1 / 3: rows, 2: count}),
             ("H with negative values in unit 1", negative, 2 / 5,
              {3 / 5: "the fraction of units that are <= 0 (or never positive); a dead unit is exactly "
                      "0: compare with == 0"})]
    for label, matrix, expected, known in cases:
        value = attempt("dead_fraction", dead_fraction, matrix)
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise AnswerError(f"dead_fraction({label}) returned a tensor of shape {_shape(value)}; "
                                  "return one number, the mean over units (e.g. .float().mean())")
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AnswerError(f"dead_fraction({label}) returned {type(value).__name__}; return one number "
                              "(a float, or a 0-d tensor)")
        if abs(value - expected) > 1e-6:
            for wrong, why in known.items():
                if abs(value - wrong) < 1e-6:
                    raise AnswerError(f"dead_fraction({label}) = {value:.4g}, expected {expected:.4g}: "
                                      f"you computed {why}.")
            raise AnswerError(f"dead_fraction({label}) = {value:.4g}, expected {expected:.4g}: units 0 and "
                              "3 of 5 are zero on every example. A unit is dead when its column is "
                              "exactly 0 in every row.")
    print("✓ dead_fraction: matches the reference on every test matrix")
