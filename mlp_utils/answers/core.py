"""Checks for the reader's own code, on one engine: cases plus named wrong formulas.

:func:`check_cases` runs the reader's function on a few cases through :func:`attempt` (the one guard
of every call) and names the first listed mistake that explains every case; :func:`cmp` compares one
tensor with the reference, naming a listed or a generic mistake (shape, sign, transpose, factor).
An exercise stub raises :func:`todo`; the check then prints "not written yet" (:func:`answer_check`).
"""
from __future__ import annotations

import functools
import math
from numbers import Real
from typing import Any, Callable, Sequence, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])


class AnswerError(AssertionError):
    """The reader's answer differs from the reference; the message says how."""


class NotWritten(NotImplementedError):
    """Raised by an exercise stub that the reader has not written yet (see :func:`todo`)."""


class _Unwritten(Exception):
    """Carries a :class:`NotWritten` from the reader's function up to :func:`answer_check`."""


class _NotAFunction(AnswerError, TypeError):
    """A check received a value where it needs the reader's function itself."""


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
    if isinstance(value, (list, tuple)):
        return (list if isinstance(value, list) else tuple)(_copy(v) for v in value)
    return value


def attempt(name: str, function: Any, *inputs: Any, copy: bool = True, returns: bool = True) -> Any:
    """Call the reader's ``function`` on copies of ``inputs`` (the inputs themselves with ``copy=False``)
    and return its result; refuse a non-function, a None result (unless ``returns=False``) and an input
    changed in place; an unwritten stub ends the calling check quietly (see :func:`answer_check`)."""
    if not callable(function):
        raise _NotAFunction(f"{name}: pass your function itself, not its value (got a "
                            f"{type(function).__name__}): its name, without calling it.")
    copies = [_copy(v) for v in inputs] if copy else list(inputs)
    try:
        result = function(*copies)
    except NotWritten as unwritten:
        raise _Unwritten(name) from unwritten
    if type(result).__module__ == "numpy" and getattr(result, "shape", None) == ():
        result = result.item()  # a numpy scalar (np.float64, np.bool_ ...): its Python value
    if returns and result is None:
        raise AnswerError(f"{name}: your code returned None; did it forget a `return`?")
    for number, (before, after) in enumerate(zip(inputs, copies) if copy else ()):
        if not _same(before, after):
            raise AnswerError(f"{name}: your function changed its input {number + 1} in place (for "
                              "example X[X < 0] = 0, or an operation ending in _), so the caller's "
                              "tensor changed too. Compute and return a new tensor instead.")
    return result


def answer_check(check: F) -> F:
    """Wrap a check so that an unwritten stub prints "not written yet" instead of raising."""
    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except _Unwritten as unwritten:
            print(f"○ {unwritten.args[0]}: not written yet; the rest of the page uses the "
                  "reference implementation.")
            return None
    return wrapper  # type: ignore[return-value]


def _again(why: str, check: Callable[[], Any]) -> Any:
    """Run ``check`` on a second case; an :class:`AnswerError` is reported as ``why`` plus what differed."""
    try:
        return check()
    except AnswerError as error:
        raise AnswerError(f"{why} What differed: {error}") from None


_Mistakes = Sequence[tuple[str, Any]]

def _number(call: str, value: Any, tensor_hint: str = "expected one number",
            type_hint: str = "expected a number") -> float:
    """The reader's value as one float, or an AnswerError saying what it was instead (and the hint)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise AnswerError(f"{call} returned a tensor of shape {_shape(value)}; {tensor_hint}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise AnswerError(f"{call} returned a {type(value).__name__}; {type_hint}")
    return float(value)


def _args(case: Sequence[Any]) -> str:
    return "(" + ", ".join(f"{a:g}" if isinstance(a, float) else repr(a) for a in case) + ")"


def _numbers_differ(call: str, value: float, expected: float) -> str:
    ratio = f" ({value / expected:.4g} times the reference)" if expected else ""
    return f"{call} returned {value:.6g}, expected {expected:.6g}{ratio}."


def check_cases(name: str, yours: Any, cases: Sequence[Sequence[Any]], reference: Callable[..., Any],
                mistakes: _Mistakes = (), also_right: _Mistakes = (), *,
                value: Callable[[str, Any], Any] = _number, same: Callable[[Any, Any], bool] | None = None,
                differ: Callable[[str, Any, Any], str] = _numbers_differ, calls: Sequence[str] | None = None,
                tick: str | None = None, rtol: float = 1e-6, copy: bool = True, returns: bool = True) -> None:
    """Run ``yours`` on every case; pass when it agrees with ``reference`` (or an ``also_right`` formula,
    whose note is printed), else name the first mistake whose formula agrees on every case (None: no
    say on that case), else report ``differ`` for the first differing case. ``value`` turns a result
    into what ``same`` compares (one number, ``math.isclose``); ``calls`` names the cases."""
    same = same or (lambda a, b: math.isclose(a, b, rel_tol=rtol, abs_tol=0.0))
    calls = calls or [f"{name}{_args(case)}" for case in cases]
    got = [value(call, attempt(name, yours, *case, copy=copy, returns=returns)) for call, case in zip(calls, cases)]

    def agrees(formula: Callable[..., Any]) -> bool:
        answers = [(mine, formula(*case)) for case, mine in zip(cases, got)]
        said = [(mine, its) for mine, its in answers if its is not None]
        return bool(said) and all(same(mine, its) for mine, its in said)

    if agrees(reference):
        print(tick or f"✓ {name}: matches the reference at {len(cases)} inputs")
        return
    for note, formula in also_right:
        if agrees(formula):
            print(f"✓ {name}: matches at {len(cases)} inputs ({note})")
            return
    for explanation, formula in mistakes:
        if agrees(formula):
            raise AnswerError(f"{name}: {explanation}")
    for call, case, mine in zip(calls, cases, got):
        expected = reference(*case)
        if not same(mine, expected):
            raise AnswerError(differ(call, mine, expected))


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(n) for n in t.shape) + (",)" if t.dim() == 1 else ")")


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
    mine, want, dims = tuple(yours.shape), tuple(expected.shape), range(expected.dim())
    message = f"{name}: shape {_shape(yours)}, expected {_shape(expected)}."
    if yours.numel() == expected.numel() and yours.dim() > expected.dim() and tuple(
            s for s in mine if s != 1) == tuple(s for s in want if s != 1):
        return (message + " The same entries with an extra dimension of size 1: a reduction with "
                "keepdim=True, or an unsqueeze. Reduce without keepdim (or .squeeze() that dimension).")
    if expected.dim() == 2 and mine == want[::-1]:
        return (message + " That is the transposed shape. If you multiplied matrices, check the order "
                "of the factors; if you reshaped, put the batch dimension first, "
                "X.reshape(X.shape[0], -1) (a .T on a wrongly reshaped tensor mixes the images).")
    for dim in dims:
        if mine == want[:dim] + want[dim + 1:]:
            return (message + f" Dimension {dim} is missing: you reduced over it (a sum, a "
                    f"mean, or torch.max(X, {dim}), which is a reduction, not an elementwise "
                    f"maximum). Do not reduce over it: an elementwise operation keeps every "
                    f"dimension (the elementwise maximum with 0 is torch.max(X, torch.zeros_like(X))).")
    if yours.numel() == expected.numel():
        return (message + " Same number of entries, arranged differently: reshape with the "
                f"batch dimension first, e.g. X.reshape({expected.shape[0]}, -1).")
    for dim in dims:
        if mine == want[:dim] + (1,) + want[dim + 1:] and want[dim] != 1:
            return (message + f" Dimension {dim} has size 1: you reduced over it with keepdim=True "
                    f"(a sum, a mean, or torch.max(X, {dim}, keepdim=True), which is a reduction, "
                    "not an elementwise maximum).")
    if expected.dim() == 1 and yours.dim() == 1:
        return (message + " Check the dimension you reduced over: summing a (B, n) tensor over dim=0 "
                "(the batch) gives n entries, over dim=1 gives B.")
    if expected.dim() >= 2 and yours.dim() == expected.dim() and mine[1:] == want[1:]:
        return message + " The batch dimension differs: did you use a fixed size instead of X.shape[0]?"
    if expected.dim() == 2 and yours.dim() == 2 and mine[0] == want[0]:
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


def _tensor_verdict(name: str, yours: Any, expected: torch.Tensor, mistakes: _Mistakes | dict = (),
                    atol: float = 1e-5, rtol: float = 1e-4, exact: bool = False) -> tuple[bool, str]:
    """(True, how close) when ``yours`` matches ``expected``; else (False, the message that says
    what is wrong: the type, the shape, NaNs, a named mistake, or the entries that differ)."""
    if isinstance(yours, torch.Tensor):
        yours = yours.detach()
    yours = _as_tensor(name, yours, expected)
    expected = expected.detach()
    if yours.shape != expected.shape:
        return False, _shape_mistake(name, yours, expected)
    yours = yours.to(expected.device)
    if not torch.is_floating_point(yours) and torch.is_floating_point(expected):
        yours = yours.to(expected.dtype)
    bad = ~torch.isfinite(yours) if torch.is_floating_point(yours) else torch.zeros_like(yours, dtype=torch.bool)
    if bad.any():
        where = tuple(bad.nonzero()[0].tolist())
        return False, (f"{name}: {int(bad.sum())} of {yours.numel()} entries are NaN or infinite (the first "
                       f"at index {where}). Look for a division by zero, a log of 0, or an exp of a large number.")
    yours = yours.to(expected.dtype)

    def close(candidate: torch.Tensor, target: torch.Tensor = expected) -> bool:
        return bool(torch.equal(candidate, target) if exact else torch.allclose(candidate, target, atol=atol, rtol=rtol))

    difference = (yours - expected).abs()
    largest = difference.max().item() if difference.numel() else 0.0
    if close(yours):
        return True, "exactly" if largest == 0 else f"largest difference {largest:.2g}"
    for why, wrong in (mistakes.items() if isinstance(mistakes, dict) else mistakes):
        wrong = wrong.detach().to(expected.device, expected.dtype)
        if wrong.shape == expected.shape and not close(wrong) and close(yours, wrong):
            return False, f"{name}: {why}"
    wrong = difference > (0 if exact else atol + rtol * expected.abs())
    first = tuple(wrong.nonzero()[0].tolist()) if yours.dim() else ()
    at = f" at index {first}" if first else ""
    return False, (f"{name}: {int(wrong.sum())} of {yours.numel()} entries differ; the first{at} is "
                   f"{yours[first].item():.6g}, expected {expected[first].item():.6g}; the largest difference "
                   f"is {largest:.3g}." + _value_mistake(yours, expected, close))


def _cmp(name: str, yours: Any, expected: Any, *inputs: Any, mistakes: _Mistakes | dict = (), atol: float = 1e-5,
        rtol: float = 1e-4, exact: bool = False) -> str:
    """Compare ``yours`` (the reader's function, called on copies of ``inputs``, or a tensor) with
    ``expected`` (a tensor, or a function of ``inputs``) to ``atol + rtol |expected|`` (bitwise with
    ``exact``); return the tick, or raise :class:`AnswerError` saying what is wrong. ``mistakes`` pairs
    an explanation with the tensor that mistake gives (or a function of ``inputs`` computing it)."""
    if callable(yours) and not isinstance(yours, torch.Tensor):
        yours = attempt(name, yours, *inputs)
    if callable(expected) and not isinstance(expected, torch.Tensor):
        expected = expected(*inputs)
    if not isinstance(expected, torch.Tensor):
        raise TypeError(f"cmp: the reference must be a tensor, got {type(expected).__name__}")
    pairs = mistakes.items() if isinstance(mistakes, dict) else mistakes
    named = [(why, wrong(*inputs) if callable(wrong) else wrong) for why, wrong in pairs]
    right, text = _tensor_verdict(name, yours, expected, named, atol, rtol, exact)
    if not right:
        raise AnswerError(text)
    return f"✓ {name}: matches the reference ({text})"


@answer_check
def cmp(name: str, yours: Any, expected: Any, *inputs: Any, **options: Any) -> None:
    print(_cmp(name, yours, expected, *inputs, **options))


cmp.__doc__ = _cmp.__doc__
