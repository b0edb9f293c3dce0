"""Checks for chapter 7's fill-in (the 2-D playground)."""
from __future__ import annotations

from typing import Any, Callable

import torch

from .core import _cmp, answer_check, attempt


@answer_check
def check_unit_contributions(yours: Callable[..., Any], X: torch.Tensor, W: torch.Tensor,
                             b: torch.Tensor, v: torch.Tensor) -> None:
    """Check the reader's ``unit_contributions(X, W, b, v)``: ``[n, j]`` is ``v_j relu(w_j . x_n + b_j)``."""
    from ..playground import unit_contributions

    X, W, b, v = (t.detach() for t in (X, W, b, v))
    Z = X @ W.T + b
    mistakes = [
        ("you left out the ReLU: each unit contributes v_j * relu(w_j . x + b_j), which is 0 on one "
         "side of the unit's line, not a plane that keeps going.", Z * v),
        ("you applied the ReLU after multiplying by v_j: relu(v_j * z) is never negative, so a unit "
         "could never vote for class 0. Take relu(z) first, then multiply by v_j.", torch.relu(Z * v)),
        ("you forgot the hidden bias b_j: without it every unit's line passes through the origin. "
         "Use relu(X @ W.T + b) * v.", torch.relu(X @ W.T) * v),
        ("you left out the output weights v: multiply each unit's relu(w_j . x + b_j) by its "
         "v_j (column j by v[j]; broadcasting does it: relu(...) * v).", torch.relu(Z)),
        ("you added the output weights instead of multiplying by them: relu(X @ W.T + b) * v.", torch.relu(Z) + v),
    ]
    print(_cmp("unit_contributions", attempt("unit_contributions", yours, X, W, b, v), unit_contributions(X, W, b, v),
               mistakes=mistakes))
