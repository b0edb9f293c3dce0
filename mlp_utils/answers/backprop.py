"""Checks for chapter 4's fill-ins: each backward line, naming the usual wrong gradients.

A reader's function is run twice: on the chapter's batch, against autograd's gradient, and on a
second, smaller batch (its first rows; for the ReLU, with some pre-activations exactly 0), against
autograd's gradient computed there, so a batch size typed as a number, or a mask that lets the
gradient through at ``Z = 0``, cannot pass.
"""
from __future__ import annotations

import contextlib
import io
from typing import Any, Callable

import torch

from .core import AnswerError, answer_check, attempt, cmp

__all__ = ["cmp_known", "cmp_linear_grad", "cmp_relu_grad", "cmp_softmax_ce_grad"]

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


def _second_size(batch: int) -> int:
    """The second batch's size: its first rows, a number unlike the first (32 gives 19)."""
    return batch // 2 + 3 if batch > 6 else max(1, batch - 1)


def _quietly(check: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Run ``check``, returning what it prints (its tick line) instead of printing it."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        check(*args, **kwargs)
    return buffer.getvalue().strip()


def _on_second_batch(name: str, yours: Callable[..., Any], inputs: tuple, batch: int, size: int,
                     compare: Callable[[Any], None], named: dict[str, torch.Tensor] | None = None,
                     what: str = "", fix: str = "") -> None:
    """Run the reader's function on the second batch's ``inputs`` and ``compare`` its result; a
    failure there (after the first batch passed) is reported as such: by the explanation of a
    ``named`` mistake the result matches, else with ``fix`` and what ``compare`` found."""
    intro = f"{name}: right for the batch of {batch}, but not for a batch of {size}{what}"
    fix = fix or (f"A size fixed in your code where the batch's own size belongs? Take it from the input "
                  f"(its .shape[0]), never a number such as {batch}.")
    try:
        result = attempt(name, yours, *inputs)
    except (RuntimeError, IndexError, ValueError) as error:
        raise AnswerError(f"{intro}: there it raised {type(error).__name__}: {error}. {fix}") from None
    if isinstance(result, torch.Tensor):
        for why, wrong in (named or {}).items():
            if result.shape == wrong.shape and torch.allclose(result.detach().to(wrong.dtype), wrong,
                                                                atol=1e-8, rtol=1e-6):
                raise AnswerError(f"{intro}: {why}")
    try:
        _quietly(compare, result)
    except AnswerError as error:
        detail = str(error)
        detail = detail[len(name) + 2:] if detail.startswith(f"{name}: ") else detail
        raise AnswerError(f"{intro}. {fix} What differed there: {detail}") from None


def _autograd_grad(function: Callable[[torch.Tensor], torch.Tensor], shape: tuple, upstream: torch.Tensor,
                   like: torch.Tensor) -> torch.Tensor:
    """The gradient, by autograd, of sum(function(v) * upstream) with respect to v (v of ``shape``, zeros)."""
    v = torch.zeros(shape, dtype=like.dtype, device=like.device, requires_grad=True)
    (function(v) * upstream).sum().backward()
    return v.grad


@answer_check
def cmp_linear_grad(name: str, yours: Any, expected: torch.Tensor, dZ: torch.Tensor, *operand: torch.Tensor,
                    wrt: str, **cmp_options: Any) -> None:
    """Check one backward line of a linear layer ``Z = H W + b``: the gradient with respect to the
    weights (``wrt="W"``, from ``dZ`` and the layer's input ``H``), the bias (``wrt="b"``, from ``dZ``)
    or the input (``wrt="H"``, from ``dZ`` and ``W``). ``expected`` is autograd's gradient for the
    chapter's batch; the reader's function then runs on a second batch (the first rows of ``dZ``, and
    of ``H``), where autograd computes the reference again, so a batch size typed as a number fails.
    A tensor (not a function) is compared on the one batch only, by :func:`cmp`.
    """
    if wrt not in ("W", "b", "H"):
        raise ValueError(f"cmp_linear_grad: wrt must be 'W', 'b' or 'H', got {wrt!r}")
    dZ = dZ.detach()
    operand = tuple(t.detach() for t in operand)
    if not callable(yours) or isinstance(yours, torch.Tensor):
        cmp(name, yours, expected, **cmp_options)
        return
    first = attempt(name, yours, dZ, *operand)
    tick = _quietly(cmp, name, first, expected, **cmp_options)
    batch, size = dZ.shape[0], _second_size(dZ.shape[0])
    dZ_k = dZ[:size]
    if wrt == "W":
        H_k = operand[0][:size]
        inputs = (dZ_k, H_k)
        reference = _autograd_grad(lambda W: H_k @ W, (H_k.shape[1], dZ.shape[1]), dZ_k, dZ)
    elif wrt == "b":
        inputs = (dZ_k,)
        reference = _autograd_grad(lambda b: torch.zeros_like(dZ_k) + b, (dZ.shape[1],), dZ_k, dZ)
    else:
        W = operand[0]
        inputs = (dZ_k, W)
        reference = _autograd_grad(lambda H: H @ W, (size, W.shape[0]), dZ_k, dZ)
    _on_second_batch(name, yours, inputs, batch, size, lambda result: cmp(name, result, reference, **cmp_options))
    print(f"{tick}, and for a batch of {size} too")


@answer_check
def cmp_relu_grad(name: str, yours: Any, dH: torch.Tensor, Z: torch.Tensor, expected: torch.Tensor,
                  **cmp_options: Any) -> None:
    """Check ``dZ``, the gradient through ``H = relu(Z)`` given ``dH``, naming the usual mistakes.

    The right answer is ``dH * (Z > 0)``: relu's derivative is the mask of the active units,
    taken as 0 at ``Z = 0`` (as PyTorch does). A function is also run on a second batch: the first
    rows, with every fourth pre-activation set to exactly 0, against autograd's gradient there.
    """
    dH, Z = dH.detach(), Z.detach()
    if callable(yours) and not isinstance(yours, torch.Tensor):  # the reader's backward_Z(dH, Z)
        function = yours
        tick = _quietly(_relu_known, name, attempt(name, function, dH, Z), dH, Z, expected, **cmp_options)
        batch, size = Z.shape[0], _second_size(Z.shape[0])
        Z_k, dH_k = Z[:size].clone(), dH[:size]
        Z_k.view(-1)[::4] = 0.0                        # exact zeros, where relu has no derivative
        Z_leaf = Z_k.clone().requires_grad_()
        (torch.relu(Z_leaf) * dH_k).sum().backward()   # autograd's convention at 0: no gradient
        zero = {"your mask lets the gradient through where Z is exactly 0. relu has no derivative at 0; "
                "we use 0 there, as PyTorch does, so no gradient passes where Z is exactly 0: the mask is "
                "Z > 0, not Z >= 0.": dH_k * (Z_k >= 0).to(dH_k.dtype)}
        _on_second_batch(name, function, (dH_k, Z_k), batch, size,
                         lambda result: _relu_known(name, result, dH_k, Z_k, Z_leaf.grad, **cmp_options),
                         named=zero, what=" in which some entries of Z are exactly 0",
                         fix="Where Z is exactly 0, no gradient passes (the mask is Z > 0); and every size comes "
                             f"from the inputs (.shape[0]), never a fixed number such as {batch}.")
        print(f"{tick}, and for a batch of {size} with some entries of Z exactly 0")
        return
    _relu_known(name, yours, dH, Z, expected, **cmp_options)


def _relu_known(name: str, yours: Any, dH: torch.Tensor, Z: torch.Tensor, expected: torch.Tensor,
                **cmp_options: Any) -> None:
    """:func:`cmp_known` with the ReLU's usual mistakes for this ``dH`` and ``Z``."""
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
    cmp_known(name, yours, expected.detach(), mistakes, **cmp_options)


@answer_check
def cmp_softmax_ce_grad(name: str, yours: Any, O: torch.Tensor, y: torch.Tensor, expected: torch.Tensor,
                        **cmp_options: Any) -> None:
    """Check ``dO``, the gradient of the mean softmax cross-entropy with respect to the logits.

    The right answer is ``(softmax(O, dim=1) - onehot(y)) / B``; missing factors, flipped signs
    and transposes are named by :func:`cmp`, the mistakes specific to softmax here. A function is
    also run on a second batch (the first rows of ``O`` and ``y``), against autograd's gradient
    of the mean cross-entropy there, so a batch size typed as a number fails.
    """
    O = O.detach()
    if callable(yours) and not isinstance(yours, torch.Tensor):  # the reader's backward_O(O, y)
        function = yours
        tick = _quietly(_softmax_ce_known, name, attempt(name, function, O, y), O, y, expected, **cmp_options)
        batch, size = O.shape[0], _second_size(O.shape[0])
        O_leaf, y_k = O[:size].clone().requires_grad_(), y[:size]
        torch.nn.functional.cross_entropy(O_leaf, y_k).backward()
        O_k = O_leaf.detach()
        T_k = torch.nn.functional.one_hot(y_k.detach().to(torch.int64), O.shape[1]).to(O.dtype)
        fixed = {f"you divided by {batch}, the size of the first batch, as a fixed number: divide by the batch "
                 f"size of O, O.shape[0] (or len(y)).": (torch.softmax(O_k, dim=1) - T_k) / batch}
        _on_second_batch(name, function, (O_k, y_k), batch, size,
                         lambda result: _softmax_ce_known(name, result, O_k, y_k, O_leaf.grad, **cmp_options),
                         named=fixed, fix=f"Divide by the batch size of O, O.shape[0], never by a fixed number "
                                          f"such as {batch}.")
        print(f"{tick}, and for a batch of {size} too")
        return
    _softmax_ce_known(name, yours, O, y, expected, **cmp_options)


def _softmax_ce_known(name: str, yours: Any, O: torch.Tensor, y: torch.Tensor, expected: torch.Tensor,
                      **cmp_options: Any) -> None:
    """:func:`cmp_known` with the usual mistakes of softmax with cross-entropy."""
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
    cmp_known(name, yours, expected.detach(), mistakes, **cmp_options)
