"""Chapter 9's count of a training step's peak, M(B) = (2 + k) P + B (c + 8 + 8 n_max) (P parameter
bytes, k optimizer copies, c cache bytes per example, an int64 label, two float32 temporaries of the
widest hidden width), the largest batch it fits, and the check of the reader's."""
from __future__ import annotations

import math
import operator
from numbers import Integral
from typing import Any, Callable, Sequence

from ..validate import positive_int
from .core import AnswerError, _number, answer_check, check_cases


def _network_bytes(sizes: Sequence[int]) -> tuple[int, int]:
    """(parameter bytes P, cache bytes per example c) of ManualMLP(sizes)."""
    return 4 * sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])), 4 * (sum(sizes[:-1]) + sizes[-1])


def _parts(sizes: Sequence[int], k: int) -> tuple[int, int]:
    """(fixed bytes, bytes per example) of the count."""
    sizes = [positive_int("a layer width", n) for n in sizes]
    if len(sizes) < 3:
        raise ValueError(f"sizes must be the widths of an MLP with a hidden layer, e.g. [784, 256, 10], "
                         f"got {sizes}")
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 0:
        raise ValueError(f"k, the optimizer's copies of the parameters, must be an integer >= 0, got {k!r}")
    parameter_bytes, cache_per_example = _network_bytes(sizes)
    return (2 + k) * parameter_bytes, cache_per_example + 8 + 2 * 4 * max(sizes[1:-1])


def _counted_peak(sizes: Sequence[int], k: int, batch_size: int) -> int:
    """The count M(B) of a training step's peak, in bytes."""
    fixed, per_example = _parts(sizes, k)
    return fixed + int(batch_size) * per_example


def reference_largest_batch(sizes: Sequence[int], k: int, budget: int) -> int:
    """The largest batch B with ``_counted_peak(sizes, k, B) <= budget`` (0 when none fits)."""
    fixed, per_example = _parts(sizes, k)
    return max((int(budget) - fixed) // per_example, 0)


# Budgets of which some examples' worth is left over after the last batch that fits: the slips
# of the formula are told apart on these.
_BUDGET_CASES = (([784, 256, 256, 10], 0, 32 * 2**20), ([784, 256, 256, 10], 2, 32 * 2**20),
                ([784, 1024, 512, 10], 1, 100_000_000), ([20, 64, 3], 2, 100_000),
                ([784, 4096, 4096, 10], 2, 2**30))
# The edges: a budget that holds exactly 1,000 examples after the fixed part of 784-256-256-10 with
# momentum (3 x 1,077,288 + 1,000 x 7,280 bytes), where "M(B) < budget" finds 999; and budgets
# that do not even hold the fixed part, where no batch fits and the answer is 0.
_EXACT_CASE = ([784, 256, 256, 10], 1, 3 * 1_077_288 + 1_000 * 7_280)
_NOTHING_FITS_CASES = (([784, 256, 10], 2, 1_000), ([20, 64, 3], 0, 9_000))
_ALL_CASES = _BUDGET_CASES + (_EXACT_CASE,) + _NOTHING_FITS_CASES


def _mistakes() -> list[tuple[str, Callable[..., int | None]]]:
    """Each usual slip, with the answer it gives on a case of _BUDGET_CASES (None on the edges)."""
    def slip(formula: Callable[..., float]) -> Callable[..., int | None]:
        def answer(sizes: Sequence[int], k: int, budget: int) -> int | None:
            if (sizes, k, budget) not in [(list(s), kk, b) for s, kk, b in _BUDGET_CASES]:
                return None
            P, c = _network_bytes(sizes)
            return math.floor(formula(P, c, sizes, k, budget, max(sizes[1:-1])))
        return answer

    fixed = "the fixed part is (2 + k) P: parameters, their gradients and k copies of optimizer state"
    return [(why, slip(formula)) for why, formula in [
        ("your batch is one too large: its count M(B) exceeds the budget. Round the division down (// or "
         "math.floor), never up or to the nearest.",
         lambda P, c, s, k, b, n: reference_largest_batch(s, k, b) + 1),
        ("you divided the whole budget by the bytes per example; the parameters, their gradients and the "
         "optimizer's state take (2 + k) P bytes first: subtract them before dividing.",
         lambda P, c, s, k, b, n: b / (c + 8 + 8 * n)),
        ("your bytes per example include the fixed part: subtract counted_peak(sizes, k, 0) from "
         "counted_peak(sizes, k, 1).",
         lambda P, c, s, k, b, n: (b - (2 + k) * P) / ((2 + k) * P + c + 8 + 8 * n)),
        (f"you left out the optimizer's state: {fixed}.",
         lambda P, c, s, k, b, n: (b - 2 * P) / (c + 8 + 8 * n)),
        (f"you left out the gradients: {fixed}.",
         lambda P, c, s, k, b, n: (b - (1 + k) * P) / (c + 8 + 8 * n)),
        ("you left out the temporaries: the backward pass holds two gradients as wide as the widest hidden "
         "layer per example, 2 x 4 n_max bytes.", lambda P, c, s, k, b, n: (b - (2 + k) * P) / (c + 8)),
        ("you counted one temporary per example; the backward pass holds two at once, 2 x 4 n_max bytes.",
         lambda P, c, s, k, b, n: (b - (2 + k) * P) / (c + 8 + 4 * n)),
        ("you counted temporaries for every hidden layer; they are freed layer by layer, so only the widest "
         "layer's two count.", lambda P, c, s, k, b, n: (b - (2 + k) * P) / (c + 8 + 8 * sum(s[1:-1]))),
        ("you left out the labels: each example's int64 label, 8 bytes, is kept for the loss.",
         lambda P, c, s, k, b, n: (b - (2 + k) * P) / (c + 8 * n)),
        ("you left out the input: the cache holds each linear layer's input, the batch itself included.",
         lambda P, c, s, k, b, n: (b - (2 + k) * P) / (c - 4 * s[0] + 8 + 8 * n)),
        ("you counted numbers, not bytes: each float32 takes 4 bytes (and each int64 label 8).",
         lambda P, c, s, k, b, n: (b - (2 + k) * P / 4) / (c / 4 + 1 + 2 * n)),
    ]]


def _batch_size(call: str, value: Any) -> int:
    if not _number(call, value, *["return a batch size, a whole number"] * 2).is_integer():
        raise AnswerError(f"{call} returned {value!r}; a batch holds a whole number of examples: round "
                          f"down, with // or math.floor")
    return int(value)


@answer_check
def check_largest_batch(yours: Callable[..., Any]) -> None:
    """Check the reader's ``largest_batch(sizes, k, budget)`` against :func:`reference_largest_batch`."""
    cases = {f"largest_batch({sizes}, {k}, {budget:,})": (list(sizes), k, budget) for sizes, k, budget in _ALL_CASES}

    def differ(call: str, mine: int, right: int) -> str:
        sizes, k, budget = cases[call]
        said, fixed = f"{call} returned {mine:,}", _counted_peak(sizes, k, 0)
        if mine == right + 1 and (sizes, k, budget) != _EXACT_CASE and right > 0:
            return (f"{said}, one too many: the count of {mine:,} examples exceeds the budget. Round down "
                    "(// or math.floor), never up or to the nearest.")
        if right == 0:
            return (f"{said}, expected 0: the parameters, their gradients and the optimizer's state alone "
                    f"take {fixed:,} bytes, so no batch fits: the answer is 0, the empty batch, not a "
                    "negative number or a sentinel such as -1 (with a formula, max(..., 0)).")
        if (sizes, k, budget) == _EXACT_CASE and mine == right - 1:
            return (f"{said}, one too few: the count of {right:,} examples is exactly the budget, and fits. "
                    "Ask for M(B) <= budget, not M(B) < budget.")
        peak = [f"counted_peak(sizes, k, {b:,}) = {_counted_peak(sizes, k, b):,}" 
                for b in (right, right + 1, mine)]
        return (f"{said}, expected {right:,}: {peak[0]} bytes fits the budget and {peak[1]} does not, while "
                f"yours gives {peak[2]}. Compare your fixed part and bytes per example with "
                "counted_peak(sizes, k, 0) and counted_peak(sizes, k, 1) - counted_peak(sizes, k, 0).")

    check_cases("largest_batch", yours, list(cases.values()), reference_largest_batch, _mistakes(),
                value=_batch_size, same=operator.eq, differ=differ, calls=list(cases),
                tick=f"✓ largest_batch: matches the reference on {len(cases)} networks and budgets, among them "
                     "a budget met exactly and budgets too small for any batch")
