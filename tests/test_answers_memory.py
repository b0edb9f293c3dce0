"""Chapter 9's memory budget: the count of a step's peak and the largest batch that fits a budget.

Right answers in several formulations must pass; every wrong one must raise an AnswerError whose
message names the mistake and points at the right fix.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlp_utils.answers import AnswerError, check_largest_batch, reference_largest_batch, todo
from mlp_utils.answers.memory import _counted_peak
from mlp_utils.backprop import ManualMLP


def counted_peak(sizes, k, batch_size):
    """The count written out by hand, independently of the reference's ManualMLP."""
    parameters = 4 * sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    cache = 4 * (sum(sizes[:-1]) + sizes[-1])
    return (2 + k) * parameters + batch_size * (cache + 8 + 2 * 4 * max(sizes[1:-1]))


# ---- the reference -------------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [[784, 256, 10], [784, 256, 256, 10], [20, 64, 3], [784, 1024, 512, 128, 10]])
@pytest.mark.parametrize("k", [0, 1, 2])
def test__counted_peak_adds_the_parts(sizes, k) -> None:
    for batch in (0, 1, 7, 256):
        assert _counted_peak(sizes, k, batch) == counted_peak(sizes, k, batch)
    # the parameters as ManualMLP and torch count them
    net = ManualMLP(sizes, device="meta")
    assert _counted_peak(sizes, k, 0) == (2 + k) * net.parameter_bytes()


def test__counted_peak_of_the_chapters_network() -> None:
    # 784-256-256-10: 269,322 parameters; per example 784 + 256 + 256 + 10 cached floats, a label,
    # and two temporaries of 256 floats
    assert _counted_peak([784, 256, 256, 10], 2, 1000) == (
        4 * 4 * 269_322 + 1000 * (4 * 1306 + 8 + 8 * 256))


@pytest.mark.parametrize("sizes, k, budget", [([784, 256, 256, 10], 2, 32 * 2**20), ([784, 256, 10], 0, 10**7),
                                              ([20, 64, 3], 1, 50_000), ([784, 4096, 4096, 10], 2, 2**30)])
def test_reference_largest_batch_is_the_last_that_fits(sizes, k, budget) -> None:
    b = reference_largest_batch(sizes, k, budget)
    assert b > 0
    assert _counted_peak(sizes, k, b) <= budget < _counted_peak(sizes, k, b + 1)


def test_reference_largest_batch_is_zero_when_nothing_fits() -> None:
    assert reference_largest_batch([784, 256, 10], 2, 1000) == 0


@pytest.mark.parametrize("sizes, k", [([784, 10], 0), ([784, 0, 10], 0), ([784, 256, 10], -1),
                                      ([784, 256, 10], 1.5), ([784, 256, 10], True)])
def test_reference_rejects_bad_arguments(sizes, k) -> None:
    with pytest.raises(ValueError):
        reference_largest_batch(sizes, k, 10**6)


# ---- right answers, in several formulations -------------------------------------------------

def closed_form(sizes, k, budget):
    fixed = counted_peak(sizes, k, 0)
    per_example = counted_peak(sizes, k, 1) - fixed
    return max((budget - fixed) // per_example, 0)


def closed_form_with_if(sizes, k, budget):
    fixed = counted_peak(sizes, k, 0)
    if budget < fixed:
        return 0
    return (budget - fixed) // (counted_peak(sizes, k, 1) - fixed)


def with_floor(sizes, k, budget):
    fixed = counted_peak(sizes, k, 0)
    return max(math.floor((budget - fixed) / (counted_peak(sizes, k, 1) - fixed)), 0)


def with_int(sizes, k, budget):
    parameters = 4 * sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    per_example = 4 * (sum(sizes[:-1]) + sizes[-1]) + 8 + 8 * max(sizes[1:-1])
    return max(int((budget - (2 + k) * parameters) / per_example), 0)


def by_search(sizes, k, budget):
    low, high = 0, 1
    while counted_peak(sizes, k, high) <= budget:
        high *= 2
    while high - low > 1:  # counted_peak(low) fits, counted_peak(high) does not
        middle = (low + high) // 2
        low, high = (middle, high) if counted_peak(sizes, k, middle) <= budget else (low, middle)
    return low


def by_counting(sizes, k, budget):
    b = 0
    while counted_peak(sizes, k, b + 1) <= budget:
        b += 1
    return b


def by_counting_with_the_reference(sizes, k, budget):
    b = 0
    while _counted_peak(sizes, k, b + 1) <= budget:
        b += 1
    return b


def as_numpy(sizes, k, budget):
    return np.int64(closed_form(sizes, k, budget))


def as_tensor(sizes, k, budget):
    return torch.tensor(closed_form(sizes, k, budget))


def as_whole_float(sizes, k, budget):
    return float(closed_form(sizes, k, budget))


def with_the_reference(sizes, k, budget):
    return reference_largest_batch(sizes, k, budget)


@pytest.mark.parametrize("right", [closed_form, closed_form_with_if, with_floor, with_int, by_search, by_counting,
                                   by_counting_with_the_reference, as_numpy, as_tensor, as_whole_float,
                                   with_the_reference])
def test_check_largest_batch_passes_right_answers(right, capsys) -> None:
    check_largest_batch(right)
    assert "✓ largest_batch" in capsys.readouterr().out


# ---- wrong answers: each refused, with a hint that leads to the fix ---------------------------

def _parts(sizes):
    parameters = 4 * sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    return parameters, 4 * (sum(sizes[:-1]) + sizes[-1]), max(sizes[1:-1])


def rounded_up(sizes, k, budget):
    fixed = counted_peak(sizes, k, 0)
    return math.ceil((budget - fixed) / (counted_peak(sizes, k, 1) - fixed))


def first_that_does_not_fit(sizes, k, budget):
    b = 0
    while counted_peak(sizes, k, b) <= budget:
        b += 1
    return b


def rounded_to_nearest(sizes, k, budget):
    fixed = counted_peak(sizes, k, 0)
    return round((budget - fixed) / (counted_peak(sizes, k, 1) - fixed))


def float_result(sizes, k, budget):
    fixed = counted_peak(sizes, k, 0)
    return (budget - fixed) / (counted_peak(sizes, k, 1) - fixed)


def no_fixed_part(sizes, k, budget):
    P, c, n = _parts(sizes)
    return budget // (c + 8 + 8 * n)


def per_example_with_fixed(sizes, k, budget):
    return (budget - counted_peak(sizes, k, 0)) // counted_peak(sizes, k, 1)


def no_state(sizes, k, budget):
    P, c, n = _parts(sizes)
    return (budget - 2 * P) // (c + 8 + 8 * n)


def no_gradients(sizes, k, budget):
    P, c, n = _parts(sizes)
    return (budget - (1 + k) * P) // (c + 8 + 8 * n)


def no_temporaries(sizes, k, budget):
    P, c, n = _parts(sizes)
    return (budget - (2 + k) * P) // (c + 8)


def one_temporary(sizes, k, budget):
    P, c, n = _parts(sizes)
    return (budget - (2 + k) * P) // (c + 8 + 4 * n)


def temporaries_of_every_layer(sizes, k, budget):
    P, c, n = _parts(sizes)
    return (budget - (2 + k) * P) // (c + 8 + 8 * sum(sizes[1:-1]))


def no_labels(sizes, k, budget):
    P, c, n = _parts(sizes)
    return (budget - (2 + k) * P) // (c + 8 * n)


def no_input(sizes, k, budget):
    P, c, n = _parts(sizes)
    return (budget - (2 + k) * P) // (c - 4 * sizes[0] + 8 + 8 * n)


def numbers_not_bytes(sizes, k, budget):
    P, c, n = _parts(sizes)
    return (budget - (2 + k) * P // 4) // (c // 4 + 1 + 2 * n)


def strictly_below(sizes, k, budget):
    fixed = counted_peak(sizes, k, 0)
    return max(math.ceil((budget - fixed) / (counted_peak(sizes, k, 1) - fixed)) - 1, 0)


def counting_strictly_below(sizes, k, budget):
    b = 0
    while counted_peak(sizes, k, b + 1) < budget:
        b += 1
    return b


def not_clamped(sizes, k, budget):
    fixed = counted_peak(sizes, k, 0)
    return (budget - fixed) // (counted_peak(sizes, k, 1) - fixed)


def not_clamped_floor(sizes, k, budget):
    fixed = counted_peak(sizes, k, 0)
    return math.floor((budget - fixed) / (counted_peak(sizes, k, 1) - fixed))


def minus_one_sentinel(sizes, k, budget):
    return -1 if budget < counted_peak(sizes, k, 0) else closed_form(sizes, k, budget)


def at_least_one(sizes, k, budget):
    return max(closed_form(sizes, k, budget), 1)


def no_fixed_part_clamped(sizes, k, budget):
    return max(no_fixed_part(sizes, k, budget), 0)


def off_by_a_lot(sizes, k, budget):
    return closed_form(sizes, k, budget) // 2


def returns_nothing(sizes, k, budget):
    closed_form(sizes, k, budget)


@pytest.mark.parametrize("wrong, words", [
    (rounded_up, "one too large|one too many"),
    (first_that_does_not_fit, "one too large"),
    (rounded_to_nearest, "one too many|one too large"),
    (float_result, "whole number"),
    (no_fixed_part, "subtract them before dividing"),
    (per_example_with_fixed, r"subtract counted_peak\(sizes, k, 0\)"),
    (no_state, "optimizer's state"),
    (no_gradients, "left out the gradients"),
    (no_temporaries, "left out the temporaries"),
    (one_temporary, "two at once"),
    (temporaries_of_every_layer, "only the widest layer"),
    (no_labels, "labels"),
    (no_input, "the batch itself"),
    (numbers_not_bytes, "not bytes"),
    (strictly_below, r"M\(B\) <= budget, not M\(B\) < budget"),
    (counting_strictly_below, r"M\(B\) <= budget, not M\(B\) < budget"),
    (not_clamped, "no batch fits: the answer is 0"),
    (not_clamped_floor, "no batch fits: the answer is 0"),
    (minus_one_sentinel, "sentinel such as -1"),
    (at_least_one, "expected 0"),
    (no_fixed_part_clamped, "subtract them before dividing"),
    (off_by_a_lot, r"counted_peak\(sizes, k, 0\) and"),
    (returns_nothing, "forget a `return`"),
])
def test_check_largest_batch_names_the_mistake(wrong, words) -> None:
    with pytest.raises(AnswerError, match=words):
        check_largest_batch(wrong)


def test_check_largest_batch_reports_an_unwritten_stub(capsys) -> None:
    def largest_batch(sizes, k, budget):
        raise todo("solve M(B) <= budget for B")

    check_largest_batch(largest_batch)
    assert "not written yet" in capsys.readouterr().out


def test_check_largest_batch_wants_the_function() -> None:
    with pytest.raises(AnswerError, match="function itself"):
        check_largest_batch(4017)


def test_check_largest_batch_hints_neither_give_the_formula_nor_invite_a_search() -> None:
    for wrong in (off_by_a_lot, no_fixed_part, rounded_up, first_that_does_not_fit, at_least_one):
        with pytest.raises(AnswerError) as error:
            check_largest_batch(wrong)
        assert "// per_example" not in str(error.value) and "search" not in str(error.value)


def test_check_largest_batch_cases_cover_the_edges() -> None:
    from mlp_utils.answers.memory import _ALL_CASES, _EXACT_CASE, _NOTHING_FITS_CASES

    sizes, k, budget = _EXACT_CASE
    b = reference_largest_batch(sizes, k, budget)
    assert counted_peak(sizes, k, b) == budget  # met exactly: "M(B) < budget" finds b - 1
    for sizes, k, budget in _NOTHING_FITS_CASES:
        assert budget < counted_peak(sizes, k, 0) and reference_largest_batch(sizes, k, budget) == 0
    assert _EXACT_CASE in _ALL_CASES and all(case in _ALL_CASES for case in _NOTHING_FITS_CASES)
