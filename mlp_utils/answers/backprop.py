"""Checks for chapter 4's backward lines: each runs on the chapter's batch and on a second, smaller
one (for the ReLU with some Z exactly 0) against autograd, naming the usual wrong gradients."""
from __future__ import annotations

from typing import Any, Callable

import torch

from ..validate import one_of
from .core import AnswerError, _cmp, answer_check, attempt

_Named = Callable[..., list]  # the inputs -> [(explanation, the wrong gradient), ...]


def _two_batches(name: str, yours: Any, inputs: tuple, expected: torch.Tensor, second: tuple,
                 reference: torch.Tensor, mistakes: _Named = lambda *inputs: [], what: str = "",
                 fix: str = "", tail: str = " too", **options: Any) -> None:
    """:func:`cmp` on the chapter's ``inputs``; then, for a function, on the ``second`` batch against
    ``reference`` (a mistake equal to the reference on a batch is not named there)."""
    tick = _cmp(name, yours, expected, *inputs, mistakes=mistakes(*inputs), **options)
    if not callable(yours) or isinstance(yours, torch.Tensor):
        print(tick)
        return
    batch, size = len(inputs[0]), len(second[0])
    intro = f"{name}: right for the batch of {batch}, but not for a batch of {size}{what}"
    fix = fix or (f"A size fixed in your code where the batch's own size belongs? Take it from the input "
                  f"(its .shape[0]), never a number such as {batch}.")
    try:
        result = attempt(name, yours, *second)
    except (RuntimeError, IndexError, ValueError) as error:
        raise AnswerError(f"{intro}: there it raised {type(error).__name__}: {error}. {fix}") from None
    try:
        _cmp(name, result, reference, mistakes=mistakes(*second), **options)
    except AnswerError as error:
        detail = str(error).removeprefix(f"{name}: ")
        raise AnswerError(f"{intro}. {fix} What differed there: {detail}") from None
    print(f"{tick}, and for a batch of {size}{tail}")


def _second_size(batch: int) -> int:  # the second batch: the first rows, a number unlike the first (32: 19)
    return batch // 2 + 3 if batch > 6 else max(1, batch - 1)


@answer_check
def cmp_linear_grad(name: str, yours: Any, expected: torch.Tensor, dZ: torch.Tensor, *operand: torch.Tensor,
                    wrt: str, **cmp_options: Any) -> None:
    """Check one backward line of ``Z = H W + b`` with respect to ``wrt``, "W" (operand H), "b" or "H" (W)."""
    one_of("cmp_linear_grad: wrt", wrt, "WbH")
    dZ, operand = dZ.detach(), tuple(t.detach() for t in operand)
    dZ_k = dZ[:_second_size(len(dZ))]
    second = (dZ_k, *(t[:len(dZ_k)] if wrt == "W" else t for t in operand))
    forward = {"W": lambda W: second[1] @ W, "b": lambda b: torch.zeros_like(dZ_k) + b,
               "H": lambda H: H @ second[1]}
    v = torch.zeros((len(dZ_k), expected.shape[1]) if wrt == "H" else expected.shape, dtype=dZ.dtype,
                    device=dZ.device, requires_grad=True)
    (forward[wrt](v) * dZ_k).sum().backward()  # the second batch's reference, by autograd
    _two_batches(name, yours, (dZ, *operand), expected, second, v.grad, **cmp_options)


def _relu_mistakes(dH: torch.Tensor, Z: torch.Tensor) -> list:
    return [
        ("your mask lets the gradient through where Z is exactly 0. relu has no derivative at 0; we use 0 "
         "there, as PyTorch does, so no gradient passes where Z is exactly 0: the mask is Z > 0, not Z >= 0.",
         dH * (Z >= 0).to(dH.dtype)),
        ("you multiplied dH by H = relu(Z), the activation's value; relu's derivative is the mask "
         "of active units, 1 where Z > 0 and 0 elsewhere: dH * (Z > 0).", dH * torch.relu(Z)),
        ("you passed dH through unchanged; the units that were off (Z <= 0) let no gradient "
         "through: multiply by the mask (Z > 0).", dH),
        ("your mask is inverted: gradient flows where the unit was active, Z > 0, not where it was "
         "off.", dH * (Z <= 0).to(dH.dtype)),
        ("you multiplied dH by the pre-activation Z itself; multiply by the mask (Z > 0) instead.", dH * Z),
    ]


@answer_check
def cmp_relu_grad(name: str, yours: Any, dH: torch.Tensor, Z: torch.Tensor, expected: torch.Tensor,
                  **cmp_options: Any) -> None:
    """Check ``dZ``, the gradient through ``H = relu(Z)`` given ``dH``: ``dH * (Z > 0)``."""
    dH, Z = dH.detach(), Z.detach()
    size = _second_size(len(Z))
    Z_k, dH_k = Z[:size].clone(), dH[:size]
    Z_k.view(-1)[::4] = 0.0                        # exact zeros, where relu has no derivative
    Z_leaf = Z_k.clone().requires_grad_()
    (torch.relu(Z_leaf) * dH_k).sum().backward()   # autograd's convention at 0: no gradient
    _two_batches(name, yours, (dH, Z), expected, (dH_k, Z_k), Z_leaf.grad, _relu_mistakes,
                 what=" in which some entries of Z are exactly 0", tail=" with some entries of Z exactly 0",
                 fix="Where Z is exactly 0, no gradient passes (the mask is Z > 0); and every size comes "
                     f"from the inputs (.shape[0]), never a fixed number such as {len(Z)}.", **cmp_options)


@answer_check
def cmp_softmax_ce_grad(name: str, yours: Any, O: torch.Tensor, y: torch.Tensor, expected: torch.Tensor,
                        **cmp_options: Any) -> None:
    """Check ``dO``, the gradient of the mean cross-entropy: ``(softmax(O, dim=1) - onehot(y)) / B``."""
    O, batch = O.detach(), len(O)
    O_leaf, y_k = O[:_second_size(batch)].clone().requires_grad_(), y[:_second_size(batch)]
    torch.nn.functional.cross_entropy(O_leaf, y_k).backward()

    def mistakes(O: torch.Tensor, y: torch.Tensor) -> list:
        T = torch.nn.functional.one_hot(y.detach().to(torch.int64), O.shape[1]).to(O.dtype)
        return [
            (f"you divided by {batch}, the size of the first batch, as a fixed number: divide by the batch "
             f"size of O, O.shape[0] (or len(y)).", (torch.softmax(O, dim=1) - T) / batch),
            ("you left out the one-hot labels: the gradient is softmax(O) minus the truth, "
             "(softmax(O) - onehot(y)) / B.", torch.softmax(O, dim=1) / len(O)),
            ("you took the softmax over dim=0, across the batch; each row (one image) is its own "
             "distribution over classes: softmax(O, dim=1).", (torch.softmax(O, dim=0) - T) / len(O)),
            ("you used the logits O instead of their softmax: (softmax(O, dim=1) - onehot(y)) / B.",
             (O - T) / len(O)),
        ]

    _two_batches(name, yours, (O, y), expected, (O_leaf.detach(), y_k), O_leaf.grad, mistakes,
                 fix=f"Divide by the batch size of O, O.shape[0], never by a fixed number such as {batch}.",
                 **cmp_options)
