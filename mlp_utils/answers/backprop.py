"""Checks for chapter 4's fill-ins: each backward line, naming the usual wrong gradients."""
from __future__ import annotations

from typing import Any

import torch

from .core import AnswerError, answer_check, attempt, cmp

__all__ = ["cmp_known", "cmp_relu_grad", "cmp_softmax_ce_grad"]

# ----------------------------------------------------------------------------------------------
# Backpropagation by hand (chapter 4): checks that name the usual wrong gradients
# ----------------------------------------------------------------------------------------------



@answer_check
def cmp_known(name: str, yours: Any, expected: torch.Tensor, mistakes: dict[str, torch.Tensor],
              **cmp_options: Any) -> None:
    """:func:`cmp`, but first compare ``yours`` with known wrong answers.

    ``mistakes`` maps an explanation (what went wrong and how to fix it) to the tensor that
    mistake produces. When ``yours`` matches one of them (and it differs from ``expected``),
    :class:`AnswerError` gives that explanation; otherwise :func:`cmp` decides.
    """
    if isinstance(yours, torch.Tensor):
        mine = yours.detach()
        for why, wrong in mistakes.items():
            wrong = wrong.detach()
            if (mine.shape == wrong.shape and mine.dtype == wrong.dtype
                    and not torch.allclose(wrong, expected.detach(), atol=1e-8, rtol=1e-6)
                    and torch.allclose(mine.to(wrong.device), wrong, atol=1e-8, rtol=1e-6)):
                raise AnswerError(f"{name}: {why}")
    cmp(name, yours, expected, **cmp_options)


@answer_check
def cmp_relu_grad(name: str, yours: Any, dH: torch.Tensor, Z: torch.Tensor, expected: torch.Tensor,
                  **cmp_options: Any) -> None:
    """Check ``dZ``, the gradient through ``H = relu(Z)`` given ``dH``, naming the usual mistakes.

    The right answer is ``dH * (Z > 0)``: relu's derivative is the mask of the active units.
    """
    dH, Z = dH.detach(), Z.detach()
    if callable(yours):  # the reader's backward_Z(dH, Z)
        yours = attempt(name, yours, dH, Z)
    mask = (Z > 0).to(dH.dtype)
    mistakes = {
        "you multiplied dH by H = relu(Z), the activation's value; relu's derivative is the mask "
        "of active units, 1 where Z > 0 and 0 elsewhere: dH * (Z > 0).": dH * torch.relu(Z),
        "you passed dH through unchanged; the units that were off (Z <= 0) let no gradient "
        "through: multiply by the mask (Z > 0).": dH,
        "your mask is inverted: gradient flows where the unit was active, Z > 0, not where it was "
        "off.": dH * (1 - mask),
        "you multiplied dH by the pre-activation Z itself; multiply by the mask (Z > 0) "
        "instead.": dH * Z,
    }
    cmp_known(name, yours, expected, mistakes, **cmp_options)


@answer_check
def cmp_softmax_ce_grad(name: str, yours: Any, O: torch.Tensor, y: torch.Tensor, expected: torch.Tensor,
                        **cmp_options: Any) -> None:
    """Check ``dO``, the gradient of the mean softmax cross-entropy with respect to the logits.

    The right answer is ``(softmax(O, dim=1) - onehot(y)) / B``; missing factors, flipped signs
    and transposes are named by :func:`cmp`, the mistakes specific to softmax here.
    """
    O = O.detach()
    if callable(yours):  # the reader's backward_O(O, y)
        yours = attempt(name, yours, O, y)
    batch, classes = O.shape
    T = torch.nn.functional.one_hot(y.detach().to(torch.int64), classes).to(O.dtype)
    mistakes = {
        "you left out the one-hot labels: the gradient is softmax(O) minus the truth, "
        "(softmax(O) - onehot(y)) / B.": torch.softmax(O, dim=1) / batch,
        "you took the softmax over dim=0, across the batch; each row (one image) is its own "
        "distribution over classes: softmax(O, dim=1).": (torch.softmax(O, dim=0) - T) / batch,
        "you used the logits O instead of their softmax: (softmax(O, dim=1) - onehot(y)) / B.":
            (O - T) / batch,
    }
    cmp_known(name, yours, expected, mistakes, **cmp_options)
