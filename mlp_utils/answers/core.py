"""Checks for the reader's own code: one line compares an answer with the reference.

Like the ``cmp()`` of Karpathy's makemore lectures, :func:`cmp` prints a tick when the reader's
tensor matches the reference and otherwise says exactly what is wrong: the type, the shape,
NaNs, the dtype, or the largest difference and the first wrong entry. Before that generic
report it looks for the mistakes people actually make (a reduction where an elementwise
operation was meant, a transposed result, a flipped sign, a factor such as a forgotten
division by the batch size) and names them.

The exercise cells of the notebooks follow one pattern:

- a cell tagged ``exercise`` holds a stub that raises ``NotImplementedError`` with a hint (made
  by :func:`todo`), and the one-line check, which receives the reader's *function*: while the
  stub is unwritten the check says so plainly and returns, so Run All reaches the end of the
  page in every front end (Colab ignores the ``raises-exception`` tag);
- the next cell, tagged ``solution``, holds a worked solution and the same check;
- later cells use the package's reference implementation, so a reader who skips an exercise
  can still run the rest of the notebook.
"""
from __future__ import annotations

import functools
import math
from numbers import Real
from typing import Any, Callable, Sequence, TypeVar

import torch

__all__ = ["AnswerError", "NotWritten", "answer_check", "attempt", "cmp", "todo"]

F = TypeVar("F", bound=Callable[..., Any])


class AnswerError(AssertionError):
    """The reader's answer differs from the reference; the message says how."""


class NotWritten(NotImplementedError):
    """Raised by an exercise stub that the reader has not written yet (see :func:`todo`)."""


class _Unwritten(Exception):
    """Carries a :class:`NotWritten` from the reader's function up to :func:`answer_check`."""


def todo(hint: str) -> NotWritten:
    """The error an exercise stub raises: ``raise todo("...")``, with a hint on what to write."""
    return NotWritten(f"Your turn: {hint} (the solution is in the next cell, hidden).")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return True


def _copy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


def attempt(name: str, function: Any, *inputs: Any, copy: bool = True) -> Any:
    """Call the reader's ``function`` on copies of ``inputs`` and return what it returns.

    A stub that is still unwritten ends the calling check quietly (see :func:`answer_check`);
    a function that changes an input tensor in place is an :class:`AnswerError`, since the
    caller's data would change with it. ``copy=False`` hands over the inputs themselves, for a
    function whose job is to change them (an optimizer step).
    """
    if not callable(function):
        raise AnswerError(f"{name}: expected your function itself, got a {type(function).__name__}. "
                          f"Pass the function's name without calling it.")
    copies = [_copy(v) for v in inputs] if copy else list(inputs)
    try:
        result = function(*copies)
    except NotWritten as unwritten:
        raise _Unwritten(name) from unwritten
    if type(result).__module__ == "numpy" and getattr(result, "shape", None) == ():
        result = result.item()  # a numpy scalar (np.float64, np.bool_ ...): its Python value
    for number, (before, after) in enumerate(zip(inputs, copies) if copy else ()):
        if not _same(before, after):
            raise AnswerError(f"{name}: your function changed its input {number + 1} in place (for "
                              "example X[X < 0] = 0, or an operation ending in _), so the caller's "
                              "tensor changed too. Compute and return a new tensor instead.")
    return result


def answer_check(check: F) -> F:
    """Make ``check`` report an unwritten stub in one plain line instead of raising.

    Every check of the reader's code is wrapped with it: a wrong answer still raises
    :class:`AnswerError` with its message, but a stub that raises :class:`NotWritten` prints
    "not written yet" and lets the rest of the page run on the package's reference.
    """
    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except _Unwritten as unwritten:
            print(f"○ {unwritten.args[0]}: not written yet; the rest of the page uses the "
                  "reference implementation.")
            return None
    return wrapper  # type: ignore[return-value]


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(n) for n in t.shape) + (",)" if t.dim() == 1 else ")")


def _index(flat_index: int, shape: Sequence[int]) -> tuple[int, ...]:
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return tuple(reversed(index))


def _as_tensor(name: str, value: Any, expected: torch.Tensor) -> torch.Tensor:
    """The reader's value as a tensor, or an error that names the known mistakes."""
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, torch.Tensor) for v in value):
        raise AnswerError(
            f"{name}: you returned a pair of tensors {tuple(_shape(v) for v in value)}, "
            "which is what a reduction such as torch.max(X, 0) returns (values and indices "
            "along dimension 0). An elementwise maximum compares with a tensor of the same "
            "shape: torch.max(X, torch.zeros_like(X)), or X.clamp(min=0).")
    if value is None:
        raise AnswerError(f"{name}: your code returned None; did it forget a `return`?")
    if isinstance(value, Real) and not isinstance(value, bool) and expected.numel() == 1:
        return torch.tensor(float(value), dtype=expected.dtype)
    if type(value).__module__ == "numpy" and hasattr(value, "shape"):  # a numpy scalar or array
        return torch.as_tensor(value).to(expected.dtype)
    if not isinstance(value, torch.Tensor):
        raise AnswerError(f"{name}: expected a tensor of shape {_shape(expected)}, "
                          f"got a {type(value).__name__}.")
    return value


def _shape_mistake(name: str, yours: torch.Tensor, expected: torch.Tensor) -> str:
    """Why the shapes differ, as precisely as the two shapes allow."""
    message = f"{name}: shape {_shape(yours)}, expected {_shape(expected)}."
    if yours.numel() == expected.numel() and tuple(s for s in yours.shape if s != 1) == tuple(
            s for s in expected.shape if s != 1) and yours.dim() > expected.dim():
        return (message + " The same entries with an extra dimension of size 1: a reduction with "
                "keepdim=True, or an unsqueeze. Reduce without keepdim (or .squeeze() that dimension).")
    if expected.dim() == 2 and tuple(yours.shape) == tuple(expected.shape[::-1]):
        return (message + " That is the transposed shape. If you multiplied matrices, check the order "
                "of the factors; if you reshaped, put the batch dimension first, "
                f"X.reshape(X.shape[0], -1) (a .T on a wrongly reshaped tensor mixes the images).")
    if yours.dim() == expected.dim() - 1:
        for dim in range(expected.dim()):
            if tuple(yours.shape) == tuple(s for d, s in enumerate(expected.shape) if d != dim):
                return (message + f" Dimension {dim} is missing: you reduced over it (a sum, a "
                        f"mean, or torch.max(X, {dim}), which is a reduction, not an elementwise "
                        f"maximum). Do not reduce over it: an elementwise operation keeps every "
                        f"dimension (the elementwise maximum with 0 is torch.max(X, torch.zeros_like(X))).")
    if yours.numel() == expected.numel():
        return (message + " Same number of entries, arranged differently: reshape with the "
                f"batch dimension first, e.g. X.reshape({expected.shape[0]}, -1).")
    if yours.dim() == expected.dim():
        for dim in range(expected.dim()):
            if yours.shape[dim] == 1 != expected.shape[dim] and all(
                    a == b for d, (a, b) in enumerate(zip(yours.shape, expected.shape)) if d != dim):
                return (message + f" Dimension {dim} has size 1: you reduced over it with keepdim=True "
                        f"(a sum, a mean, or torch.max(X, {dim}, keepdim=True), which is a reduction, "
                        "not an elementwise maximum).")
    if expected.dim() == 1 and yours.dim() == 1:
        return (message + " Check the dimension you reduced over: summing a (B, n) tensor over dim=0 "
                "(the batch) gives n entries, over dim=1 gives B.")
    if expected.dim() >= 2 and yours.dim() == expected.dim() and yours.shape[1:] == expected.shape[1:]:
        return message + " The batch dimension differs: did you use a fixed size instead of X.shape[0]?"
    if expected.dim() == 2 and yours.dim() == 2 and yours.shape[0] == expected.shape[0]:
        return message + " Each row has the wrong length: check which weight matrix you used."
    return message


def _value_mistake(yours: torch.Tensor, expected: torch.Tensor, close: Callable[[torch.Tensor], bool]) -> str:
    """A named mistake that explains the values, or an empty string."""
    if close(-yours):
        return " Every entry has the wrong sign: check a subtraction or the direction of a step."
    if expected.dim() == 2 and expected.shape[0] == expected.shape[1] and close(yours.T):
        return " Your result is the transpose of the reference: check the order of a product."
    ref = expected.double()
    yours64 = yours.double()
    denominator = (ref * ref).sum()
    if denominator > 0:
        factor = ((yours64 * ref).sum() / denominator).item()
        if factor != 0 and math.isfinite(factor) and abs(factor - 1) > 1e-3 and close(yours / factor):
            text = f" Your result is the reference times {factor:.4g}"
            nearest = round(factor) if factor >= 1 else 1 / round(1 / factor)
            if abs(factor - nearest) < 1e-3 * abs(nearest):
                size = round(factor if factor >= 1 else 1 / factor)
                text += (f" (= {'' if factor >= 1 else '1/'}{size}): a missing or extra factor, "
                         f"such as a division by the batch size or a learning rate")
            return text + "."
    return ""


@answer_check
def cmp(name: str, yours: Any, expected: Any, *inputs: Any, atol: float = 1e-5, rtol: float = 1e-4,
        exact: bool = False) -> None:
    """Compare the reader's ``yours`` with the reference ``expected``; print a tick or raise.

    ``yours`` is the reader's function, called on copies of ``inputs`` (see :func:`attempt`),
    or a tensor already computed; ``expected`` is a tensor, or a reference function called on
    the same ``inputs``.

    Passes when every entry agrees to ``atol + rtol * |expected|`` (bitwise with ``exact=True``).
    Otherwise raises :class:`AnswerError` whose message says what is wrong: the type, the
    shape (with the likely cause), NaNs, or the largest difference, where it is, and how many
    entries are wrong, naming a known mistake when one explains the numbers.
    """
    if callable(yours) and not isinstance(yours, torch.Tensor):
        yours = attempt(name, yours, *inputs)
    if callable(expected) and not isinstance(expected, torch.Tensor):
        expected = expected(*inputs)
    if not isinstance(expected, torch.Tensor):
        raise TypeError(f"cmp: the reference must be a tensor, got {type(expected).__name__}")
    if isinstance(yours, torch.nn.Parameter) or (isinstance(yours, torch.Tensor) and yours.requires_grad):
        yours = yours.detach()
    yours = _as_tensor(name, yours, expected)
    expected = expected.detach()
    if yours.shape != expected.shape:
        raise AnswerError(_shape_mistake(name, yours, expected))
    if yours.device != expected.device:
        yours = yours.to(expected.device)
    if not torch.is_floating_point(yours) and torch.is_floating_point(expected):
        yours = yours.to(expected.dtype)
    bad = ~torch.isfinite(yours) if torch.is_floating_point(yours) else torch.zeros_like(yours, dtype=torch.bool)
    if bad.any():
        where = _index(int(bad.flatten().nonzero()[0]), yours.shape)
        raise AnswerError(f"{name}: {int(bad.sum())} of {yours.numel()} entries are NaN or infinite "
                          f"(the first at index {where}). Look for a division by zero, a log of 0, or "
                          "an exp of a large number.")
    yours = yours.to(expected.dtype)

    def close(candidate: torch.Tensor) -> bool:
        if exact:
            return torch.equal(candidate, expected)
        return torch.allclose(candidate, expected, atol=atol, rtol=rtol)

    difference = (yours - expected).abs()
    largest = difference.max().item() if difference.numel() else 0.0
    if close(yours):
        how = "exactly" if largest == 0 else f"largest difference {largest:.2g}"
        print(f"✓ {name}: matches the reference ({how})")
        return
    wrong = difference > (0 if exact else atol + rtol * expected.abs())
    first = _index(int(wrong.flatten().nonzero()[0]), yours.shape) if yours.dim() else ()
    at = f" at index {first}" if first else ""
    report = (f"{name}: {int(wrong.sum())} of {yours.numel()} entries differ; the first{at} is "
              f"{yours[first].item():.6g}, expected {expected[first].item():.6g}; "
              f"the largest difference is {largest:.3g}.")
    raise AnswerError(report + _value_mistake(yours, expected, close))
