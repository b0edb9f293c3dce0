"""Checks for chapter 8's fill-in (the debugging guide)."""
from __future__ import annotations

from typing import Any, Callable

import torch

from .core import _number, answer_check, check_cases


def _fraction(call: str, value: Any) -> float:
    return _number(call, value, "return one number, the mean over units (e.g. .float().mean())",
                   "return one number (a float, or a 0-d tensor)")


@answer_check
def check_dead_fraction(dead_fraction: Callable[[torch.Tensor], Any]) -> None:
    """Check the reader's ``dead_fraction(H)``, the fraction of units (columns) zero on every example."""
    # units 0 and 3 are dead; unit 1 is zero on some examples only; row 2 is a "dead example"
    H = torch.tensor([[0.0, 0.0, 1.0, 0.0, 2.0], [0.0, 3.0, 0.5, 0.0, 1.0],
                      [0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 2.0, 0.0, 4.0]])
    negative = H * torch.tensor([1.0, -1.0, 1.0, 1.0, 1.0])  # unit 1 never positive, yet not dead
    mistakes = [
        ("you computed the fraction of zero ENTRIES; a unit is dead only if its whole column is zero: "
         "use (H == 0).all(dim=0).", lambda H: (H == 0).float().mean().item()),
        ("you computed the fraction of EXAMPLES (rows) that are all zero; units are the columns: reduce over "
         "dim=0 (the examples), e.g. (H == 0).all(dim=0).", lambda H: (H == 0).all(dim=1).float().mean().item()),
        ("you computed a count of dead units; divide by the number of units (take the mean).",
         lambda H: (H == 0).all(dim=0).sum().item()),
        ("you computed the fraction of units that are <= 0 (or never positive); a dead unit is exactly 0: "
         "compare with == 0.", lambda H: (H <= 0).all(dim=0).float().mean().item()),
    ]
    check_cases("dead_fraction", dead_fraction, [(H,), (H[:3],), (negative,)],
                lambda H: (H == 0).all(dim=0).float().mean().item(), mistakes, value=_fraction,
                calls=["dead_fraction(H)", "dead_fraction(H[:3])", "dead_fraction(H with negative values in unit 1)"],
                same=lambda a, b: abs(a - b) <= 1e-6, returns=False,
                differ=lambda call, got, want: (
                    f"{call} = {got:.4g}, expected {want:.4g}: units 0 and 3 of 5 are zero on every example. A "
                    "unit is dead when its column is exactly 0 in every row."),
                tick="✓ dead_fraction: matches the reference on every test matrix")
