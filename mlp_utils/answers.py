"""Checks for the reader's own code: one line compares an answer with the reference.

Like the ``cmp()`` of Karpathy's makemore lectures, :func:`cmp` prints a tick when the reader's
tensor matches the reference and otherwise says exactly what is wrong: the type, the shape,
NaNs, the dtype, or the largest difference and the first wrong entry. Before that generic
report it looks for the mistakes people actually make (a reduction where an elementwise
operation was meant, a transposed result, a flipped sign, a factor such as a forgotten
division by the batch size) and names them.

The exercise cells of the notebooks follow one pattern:

- a cell tagged ``exercise`` holds a stub that raises ``NotImplementedError`` with a hint, and
  the one-line check;
- the next cell, tagged ``solution``, holds a worked solution and the same check;
- later cells use the package's reference implementation, so a reader who skips an exercise
  can still run the rest of the notebook.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch

__all__ = ["AnswerError", "cmp", "todo"]


class AnswerError(AssertionError):
    """The reader's answer differs from the reference; the message says how."""


def todo(hint: str) -> NotImplementedError:
    """The error an exercise stub raises: ``raise todo("...")``, with a hint on what to write."""
    return NotImplementedError(f"Your turn: {hint} (the solution is in the next cell, hidden).")


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
    if isinstance(value, (int, float)) and expected.numel() == 1:
        return torch.tensor(float(value), dtype=expected.dtype)
    if not isinstance(value, torch.Tensor):
        raise AnswerError(f"{name}: expected a tensor of shape {_shape(expected)}, "
                          f"got a {type(value).__name__}.")
    return value


def _shape_mistake(name: str, yours: torch.Tensor, expected: torch.Tensor) -> str:
    """Why the shapes differ, as precisely as the two shapes allow."""
    message = f"{name}: shape {_shape(yours)}, expected {_shape(expected)}."
    if expected.dim() == 2 and tuple(yours.shape) == tuple(expected.shape[::-1]):
        return message + " That is the transpose: check the order of a matrix product (or add .T)."
    if yours.dim() == expected.dim() - 1:
        for dim in range(expected.dim()):
            if tuple(yours.shape) == tuple(s for d, s in enumerate(expected.shape) if d != dim):
                return (message + f" Dimension {dim} is missing: you reduced over it (a sum, a "
                        f"mean, or torch.max(X, {dim}), which is a reduction, not an elementwise "
                        f"maximum). Keep it with keepdim=True, or do not reduce.")
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
    if expected.dim() >= 1 and yours.dim() == expected.dim() and yours.shape[1:] == expected.shape[1:]:
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


def cmp(name: str, yours: Any, expected: torch.Tensor, *, atol: float = 1e-5, rtol: float = 1e-4,
        exact: bool = False) -> None:
    """Compare the reader's ``yours`` with the reference ``expected``; print a tick or raise.

    Passes when every entry agrees to ``atol + rtol * |expected|`` (bitwise with ``exact=True``).
    Otherwise raises :class:`AnswerError` whose message says what is wrong: the type, the
    shape (with the likely cause), NaNs, or the largest difference, where it is, and how many
    entries are wrong, naming a known mistake when one explains the numbers.
    """
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


# ---------------------------------------------------------------------------------------------
# Exercises 6-9: FLOP of a training step, GFLOP/s of a product, derivatives of activations, and
# the standard deviations of Kaiming's and Xavier's initializations. Each check evaluates the
# reader's function at a few inputs, compares with the reference, and names a known mistake.
# ---------------------------------------------------------------------------------------------

__all__ += ["check_derivative", "check_gflop_per_s", "check_init_std", "check_step_flops",
            "kaiming_std", "train_step_flops", "xavier_std"]


def train_step_flops(layer_sizes: Sequence[int], batch_size: int) -> int:
    """FLOP of one SGD training step of an MLP with these layer sizes on ``batch_size`` examples.

    Each linear layer ``n_in -> n_out`` costs ``2 b n_in n_out`` in the forward pass (one
    multiply and one add per term of each output) and twice that backward: one product for the
    weights' gradient and one for the gradient of the layer's input. Biases, activations, the loss
    and the update are a few FLOP per number, negligible next to the products, and left out.
    """
    from .checks import check_positive_int
    sizes = [check_positive_int("layer_sizes entry", n) for n in layer_sizes]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {list(layer_sizes)!r}")
    b = check_positive_int("batch_size", batch_size)
    return 3 * sum(2 * b * n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def kaiming_std(n_in: int, n_out: int) -> float:
    """He/Kaiming's standard deviation for the weights of a ReLU layer: ``sqrt(2 / n_in)``."""
    from .checks import check_positive_int
    check_positive_int("n_out", n_out)
    return math.sqrt(2 / check_positive_int("n_in", n_in))


def xavier_std(n_in: int, n_out: int, gain: float = 1.0) -> float:
    """Glorot/Xavier's standard deviation: ``gain * sqrt(2 / (n_in + n_out))`` (as
    ``torch.nn.init.xavier_normal_``; the gain for ReLU is ``sqrt(2)``)."""
    from .checks import check_positive_float, check_positive_int
    total = check_positive_int("n_in", n_in) + check_positive_int("n_out", n_out)
    return check_positive_float("gain", gain) * math.sqrt(2 / total)


def _number(name: str, value: Any, args: str) -> float:
    """The reader's return value as a float, or an AnswerError saying what it was instead."""
    if value is None:
        raise AnswerError(f"{name}{args} returned None; did it forget a `return`?")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise AnswerError(f"{name}{args} returned a tensor of shape {_shape(value)}; "
                              "expected one number")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnswerError(f"{name}{args} returned a {type(value).__name__}; expected a number")
    return float(value)


def _check_numbers(name: str, yours: Callable[..., Any], cases: Sequence[tuple],
                   reference: Callable[..., float], mistakes: Sequence[tuple[str, Callable[..., float]]],
                   also_right: Sequence[tuple[str, Callable[..., float]]] = (), rtol: float = 1e-6) -> None:
    """Call ``yours(*case)`` for every case; pass if all agree with ``reference`` (or with one
    of ``also_right``, whose note is printed); else name the first mistake that explains every
    case, or report the first case that differs."""
    if not callable(yours):
        raise AnswerError(f"{name}: pass the function itself (without calling it), got a "
                          f"{type(yours).__name__}")
    got = []
    for case in cases:
        args = "(" + ", ".join(f"{a:g}" if isinstance(a, float) else repr(a) for a in case) + ")"
        got.append((args, _number(name, yours(*case), args)))

    def agrees(formula: Callable[..., float]) -> bool:
        return all(math.isclose(value, formula(*case), rel_tol=rtol, abs_tol=0.0)
                   for case, (_, value) in zip(cases, got))

    if agrees(reference):
        print(f"✓ {name}: matches the reference at {len(cases)} inputs")
        return
    for note, formula in also_right:
        if agrees(formula):
            print(f"✓ {name}: matches at {len(cases)} inputs ({note})")
            return
    for explanation, formula in mistakes:
        if agrees(formula):
            raise AnswerError(f"{name}: {explanation}")
    for case, (args, value) in zip(cases, got):
        expected = reference(*case)
        if not math.isclose(value, expected, rel_tol=rtol, abs_tol=0.0):
            ratio = f" ({value / expected:.4g} times the reference)" if expected else ""
            raise AnswerError(f"{name}{args} returned {value:.6g}, expected {expected:.6g}{ratio}.")


def _products(sizes: Sequence[int], b: int) -> int:
    """2 b n_in n_out summed over the layers: the forward pass's FLOP."""
    return sum(2 * b * i * o for i, o in zip(sizes[:-1], sizes[1:]))


def check_step_flops(yours: Callable[[Sequence[int], int], Any]) -> None:
    """Check the reader's ``train_step_flops(layer_sizes, batch_size)`` against
    :func:`train_step_flops`; print a tick or raise :class:`AnswerError` naming the mistake."""
    cases = [([784, 256, 10], 256), ([784, 512, 512, 10], 64), ([100, 30, 20, 5], 3)]
    mistakes = [
        ("you counted the forward pass only. The backward pass does two products per layer (the "
         "gradient of the weights and of the layer's input), each as large as the forward one, so "
         "a step is about 3 times the forward pass.", lambda s, b: _products(s, b)),
        ("you counted the forward pass and one backward product per layer. The backward pass "
         "needs two: X^T @ dZ for the weights' gradient and dZ @ W^T for the input's.",
         lambda s, b: 2 * _products(s, b)),
        ("you counted multiply-adds, not FLOP: every multiply-add is 2 floating-point "
         "operations (one multiply, one add).", lambda s, b: _products(s, b) * 3 // 2),
        ("you counted the forward pass's multiply-adds only: each is 2 FLOP, and the backward "
         "pass adds twice the forward's work.", lambda s, b: _products(s, b) // 2),
        ("your count does not grow with the batch: every example of the batch goes through "
         "every product, so multiply by batch_size.", lambda s, b: 3 * _products(s, 1)),
        ("you counted the forward pass for one example: multiply by the batch size, and by 3 "
         "for the backward pass.", lambda s, b: _products(s, 1)),
        ("you multiplied all the layer sizes together: a layer n_in -> n_out costs "
         "2 b n_in n_out; sum that over consecutive pairs of sizes.",
         lambda s, b: 6 * b * math.prod(s)),
    ]
    also_right = [("you skipped the gradient of the first layer's input, which autograd skips "
                   "too, since the images need no gradient",
                   lambda s, b: train_step_flops(s, b) - 2 * b * s[0] * s[1])]
    _check_numbers("train_step_flops", yours, cases, train_step_flops, mistakes, also_right)


def check_gflop_per_s(yours: Callable[[int, float], Any]) -> None:
    """Check the reader's ``gflop_per_s(n, seconds)``, the throughput of an ``n x n`` by
    ``n x n`` product that took ``seconds``: ``2 n^3 / seconds / 10^9``."""
    def reference(n: int, t: float) -> float:
        return 2 * n ** 3 / t / 1e9

    cases = [(1024, 0.02), (1025, 0.5), (8, 1e-6), (2048, 0.125)]
    mistakes = [
        ("your numbers are half the reference: a product does n^3 multiply-adds, and each is "
         "2 FLOP (a multiply and an add), so the work is 2 n^3.",
         lambda n, t: n ** 3 / t / 1e9),
        ("your numbers are 10^9 times too large: that is FLOP/s; divide by 1e9 for GFLOP/s.",
         lambda n, t: 2 * n ** 3 / t),
        ("your numbers are 1000 times too small: the time is given in seconds, not milliseconds.",
         lambda n, t: 2 * n ** 3 / (t * 1e3) / 1e9),
        ("your numbers are 1000 times too large: divide by the seconds as given, without "
         "converting to milliseconds.", lambda n, t: 2 * n ** 3 / (t / 1e3) / 1e9),
        ("you counted 2 n^2 FLOP: each of the n^2 outputs is a sum of n products, so the work "
         "is 2 n^3.", lambda n, t: 2 * n ** 2 / t / 1e9),
        ("you returned seconds per GFLOP, the inverse: divide the work by the time.",
         lambda n, t: t / (2 * n ** 3 / 1e9)),
    ]
    _check_numbers("gflop_per_s", yours, cases, reference, mistakes)


def check_init_std(name: str, yours: Callable[..., Any]) -> None:
    """Check the reader's ``kaiming_std(n_in, n_out)`` (``name="kaiming"``) or
    ``xavier_std(n_in, n_out, gain)`` (``name="xavier"``) against :func:`kaiming_std` and
    :func:`xavier_std`; print a tick or raise :class:`AnswerError` naming the mistake."""
    if name == "kaiming":
        cases = [(784, 256), (256, 10), (1024, 1024), (50, 300)]
        mistakes = [
            ("you returned the variance 2 / n_in; the standard deviation is its square root.",
             lambda i, o: 2 / i),
            ("you used n_out where Kaiming's rule (fan-in mode) uses n_in, the number of terms "
             "summed into each output.", lambda i, o: math.sqrt(2 / o)),
            ("you left out the factor 2: sqrt(1 / n_in) keeps the variance of a linear layer; "
             "ReLU zeroes half of its input, and the 2 makes up for it.",
             lambda i, o: math.sqrt(1 / i)),
            ("you took the square root of the 2 only: the standard deviation is sqrt(2 / n_in), "
             "not sqrt(2) / n_in.", lambda i, o: math.sqrt(2) / i),
            ("that is Xavier's standard deviation, sqrt(2 / (n_in + n_out)); Kaiming's uses n_in "
             "alone.", lambda i, o: math.sqrt(2 / (i + o))),
        ]
        _check_numbers("kaiming_std", yours, cases, kaiming_std, mistakes)
    elif name == "xavier":
        root2 = math.sqrt(2)
        cases = [(784, 256, 1.0), (256, 10, 1.0), (256, 256, root2), (100, 300, 5 / 3)]
        mistakes = [
            ("you returned the variance; the standard deviation is its square root.",
             lambda i, o, g: g * g * 2 / (i + o)),
            ("you returned the variance without the gain; take gain * sqrt(2 / (n_in + n_out)).",
             lambda i, o, g: 2 / (i + o)),
            ("you ignored the gain: multiply the standard deviation by it.",
             lambda i, o, g: math.sqrt(2 / (i + o))),
            ("you multiplied by the gain squared: the gain scales the standard deviation, so its "
             "square scales the variance.", lambda i, o, g: g * g * math.sqrt(2 / (i + o))),
            ("you left out the factor 2: Xavier's variance is 2 / (n_in + n_out), the inverse of "
             "the average of the two fans.", lambda i, o, g: g * math.sqrt(1 / (i + o))),
            ("you multiplied the fans: Xavier averages them, 2 / (n_in + n_out).",
             lambda i, o, g: g * math.sqrt(2 / (i * o))),
            ("that is Kaiming's sqrt(2 / n_in) (times the gain); Xavier's uses n_in + n_out.",
             lambda i, o, g: g * math.sqrt(2 / i)),
        ]
        _check_numbers("xavier_std", yours, cases, xavier_std, mistakes)
    else:
        raise ValueError(f"check_init_std: name must be 'kaiming' or 'xavier', got {name!r}")


def _derivative_mistakes(name: str, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """Typical wrong derivatives of the activation ``name`` at ``x``, each with its explanation."""
    s, t = torch.sigmoid(x), torch.tanh(x)
    normal = torch.distributions.Normal(0.0, 1.0)
    cdf, pdf = normal.cdf(x), normal.log_prob(x).exp()
    table = {
        "sigmoid": [
            ("you applied s(1 - s) to x itself: s is the sigmoid's output, sigmoid(x).", x * (1 - x)),
            ("you returned 1 - sigmoid(x) = sigmoid(-x): the derivative is sigmoid(x) times that.",
             1 - s),
            ("1 - sigmoid(x)^2 is tanh's pattern; the sigmoid's derivative is s (1 - s).", 1 - s * s),
            ("you wrote s (1 + s); the derivative is s (1 - s), with a minus.", s * (1 + s)),
        ],
        "tanh": [
            ("you forgot the square: the derivative is 1 - tanh(x)^2, not 1 - tanh(x).", 1 - t),
            ("you applied 1 - t^2 to x itself: t is tanh(x).", 1 - x * x),
            ("1 + tanh(x)^2 has the wrong sign: the derivative is 1 - tanh(x)^2.", 1 + t * t),
            ("1 / cosh(x) is sech(x); the derivative is its square, 1 / cosh(x)^2 = 1 - tanh(x)^2.",
             1 / torch.cosh(x)),
            ("tanh(x) (1 - tanh(x)) is the sigmoid's pattern applied to tanh; the derivative is "
             "1 - tanh(x)^2.", t * (1 - t)),
        ],
        "gelu": [
            ("you kept only Phi(x): by the product rule, d/dx [x Phi(x)] = Phi(x) + x phi(x), with "
             "phi the normal density.", cdf),
            ("you kept only x phi(x): by the product rule the derivative also has the term Phi(x).",
             x * pdf),
            ("Phi(x) - x phi(x) has the wrong sign: the derivative is Phi(x) + x phi(x).",
             cdf - x * pdf),
        ],
    }
    return table.get(name, [])


def check_derivative(name: str, yours: Callable[[torch.Tensor], Any]) -> None:
    """Check the reader's derivative of the activation ``name`` (a key of
    :data:`mlp_utils.models.ACTIVATIONS`) against autograd on 81 points of ``[-4, 4]``."""
    from .models import ACTIVATIONS
    if name not in ACTIVATIONS:
        raise ValueError(f"check_derivative: name must be one of {list(ACTIVATIONS)}, got {name!r}")
    if not callable(yours):
        raise AnswerError(f"{name}': pass the function itself (without calling it), got a "
                          f"{type(yours).__name__}")
    x = torch.linspace(-4, 4, 81)
    point = x.clone().requires_grad_(True)
    activation = ACTIVATIONS[name]()
    (expected,) = torch.autograd.grad(activation(point).sum(), point)
    value = _as_tensor(f"{name}'", yours(x.clone()), expected)
    if isinstance(value, torch.Tensor) and value.shape == expected.shape and torch.is_floating_point(value):
        value = value.detach().to(expected.dtype)

        def close(candidate: torch.Tensor) -> bool:
            return bool(torch.allclose(value, candidate, atol=1e-5, rtol=1e-4))

        if not close(expected):
            with torch.no_grad():
                itself = activation(x)
            if close(itself):
                raise AnswerError(f"{name}': you returned the activation {name}(x) itself, not its "
                                  "derivative.")
            for explanation, candidate in _derivative_mistakes(name, x):
                if close(candidate):
                    raise AnswerError(f"{name}': {explanation}")
    cmp(f"{name}' (against autograd)", value, expected)


# ---------------------------------------------------------------------------------------------
# Exercises 1-4 (hidden units, depth, a single neuron, the learning rate): topic-specific checks.
# ---------------------------------------------------------------------------------------------

__all__ += ["check_parameter_count", "check_mlp_builder", "check_firing_fractions", "check_failed"]


def check_parameter_count(yours: Callable[[int], Any], widths: Sequence[int] = (8, 100, 256, 2048, 1)) -> None:
    """Check ``yours(h)``, the parameter count of a 784-h-10 MLP, against the built networks.

    The reference is :func:`mlp_utils.count_parameters` of ``DeepMLP((h,))`` for every ``h`` in
    ``widths``. A wrong count is explained when it matches a known mistake: missing biases,
    a missing layer, or weights multiplied through as if the layers were one matrix.
    """
    from .models import DeepMLP, count_parameters

    if not callable(yours):
        raise TypeError(f"check_parameter_count: pass your function itself, not its value "
                        f"(got a {type(yours).__name__}); e.g. check_parameter_count(mlp_parameters)")
    name = getattr(yours, "__name__", "your function")
    for width in widths:
        expected = count_parameters(DeepMLP((width,)))
        got = yours(width)
        if got is None:
            raise AnswerError(f"{name}({width}) returned None; did it forget a `return`?")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float)) or got != int(got):
            raise AnswerError(f"{name}({width}) returned {got!r}; a parameter count is a whole number.")
        got = int(got)
        if got == expected:
            continue
        h = width
        mistakes = {
            784 * h + 10 * h: "only the weights: each of the two layers also has a bias vector, "
                              f"b1 with {h} entries and b2 with 10",
            784 * h + h * 10 + 10: f"the hidden layer's bias b1 ({h} entries, one per hidden unit) is missing",
            784 * h + h + h * 10: "the output layer's bias b2 (10 entries, one per class) is missing",
            784 * h + h: "only the first layer: the second layer (W2, h x 10, and b2, 10) is missing",
            h * 10 + 10: "only the second layer: the first layer (W1, 784 x h, and b1, h) is missing",
            784 * h * 10: "you multiplied the layers' sizes: the layers' parameters add up, "
                          "(784 + 1) h for the first plus (h + 1) 10 for the second",
            784 * h * 10 + h + 10: "you multiplied the layers' sizes: the layers' parameters add up",
            (784 + 1) * (h + 1) * 10: "you multiplied the layers' sizes: the layers' parameters add up",
            28 * h + h + h * 10 + 10: "28 inputs: a flattened 28x28 image has 28 * 28 = 784 features",
        }
        hint = mistakes.get(got)
        message = f"{name}({width}) = {got:,}, but the built network has {expected:,} parameters"
        if hint:
            raise AnswerError(f"{message}: {hint}.")
        raise AnswerError(f"{message} (off by {got - expected:+,}). Count, per layer, the weight "
                          "matrix (inputs x outputs) and the bias vector (one per output).")
    print(f"✓ {name}: matches the built networks for widths {', '.join(map(str, widths))}")


def check_mlp_builder(yours: Callable[[Sequence[int]], torch.nn.Module],
                      cases: Sequence[Sequence[int]] = ((256,), (204, 204), (256, 128, 100), ())) -> None:
    """Check ``yours(hidden_sizes)``, an MLP builder, against :class:`mlp_utils.DeepMLP`.

    For every case the network must be an ``nn.Module`` that maps a batch of 28x28 images to
    10 logits, with the reference's linear layers (in order, same shapes), an activation
    between every two of them and none after the last, and the same number of parameters.
    """
    from torch import nn

    from .models import DeepMLP, count_parameters

    if not callable(yours):
        raise TypeError(f"check_mlp_builder: pass your function itself, not a network "
                        f"(got a {type(yours).__name__}); e.g. check_mlp_builder(build_mlp)")
    name = getattr(yours, "__name__", "your function")
    X = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for sizes in cases:
        call = f"{name}({list(sizes)})"
        net = yours(list(sizes))
        if net is None:
            raise AnswerError(f"{call} returned None; did it forget a `return`?")
        if not isinstance(net, nn.Module):
            raise AnswerError(f"{call} returned a {type(net).__name__}; return the network, an "
                              "nn.Module such as nn.Sequential(...).")
        reference = DeepMLP(tuple(sizes))
        want = [(m.in_features, m.out_features) for m in reference.linears]
        modules = list(net.modules())[1:] if not isinstance(net, nn.Sequential) else list(net)
        linears = [m for m in modules if isinstance(m, nn.Linear)]
        got = [(m.in_features, m.out_features) for m in linears]
        if len(got) != len(want):
            raise AnswerError(f"{call}: {len(got)} linear layer(s) {got}, expected {len(want)} {want}: "
                              f"{len(sizes)} hidden layer(s) need {len(sizes) + 1} linear layers, one "
                              "into each hidden layer and one into the output.")
        if got != want:
            first = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
            raise AnswerError(f"{call}: linear layer {first} maps {got[first][0]} -> {got[first][1]}, "
                              f"expected {want[first][0]} -> {want[first][1]}. The widths in order are "
                              f"784 (the flattened image), then {list(sizes)}, then 10 (the classes); "
                              "each layer's input is the previous layer's output.")
        if isinstance(net, nn.Sequential):
            kinds = ["linear" if isinstance(m, nn.Linear) else
                     "other" if isinstance(m, (nn.Flatten, nn.Dropout, nn.Identity)) else "activation"
                     for m in net]
            positions = [i for i, k in enumerate(kinds) if k == "linear"]
            for a, b in zip(positions[:-1], positions[1:]):
                if "activation" not in kinds[a + 1:b]:
                    raise AnswerError(f"{call}: linear layers {positions.index(a)} and {positions.index(b)} "
                                      "follow each other with no activation between them. Two linear "
                                      "layers in a row collapse to one (W2 (W1 x + b1) + b2 is again "
                                      "linear in x): put an nn.ReLU() after every hidden layer.")
            if "activation" in kinds[positions[-1] + 1:]:
                raise AnswerError(f"{call}: an activation follows the last linear layer. The outputs are "
                                  "logits for the cross-entropy loss, which may be negative: a ReLU there "
                                  "would clip them at 0. End with the linear layer into the 10 classes.")
        try:
            out = net(X)
        except RuntimeError as error:
            raise AnswerError(f"{call}: the network fails on a batch of shape (3, 1, 28, 28): {error}. "
                              "Did you start with nn.Flatten(), so each image becomes a vector of 784?") from None
        if tuple(out.shape) != (3, 10):
            raise AnswerError(f"{call}: a batch of 3 images gives output of shape {tuple(out.shape)}, "
                              "expected (3, 10): one logit per class for every image.")
        if count_parameters(net) != count_parameters(reference):
            raise AnswerError(f"{call}: {count_parameters(net):,} parameters, expected "
                              f"{count_parameters(reference):,}. Does every nn.Linear keep its bias?")
    print(f"✓ {name}: same layers, shapes and parameter counts as DeepMLP for "
          + ", ".join(str(list(c)) for c in cases))


def check_firing_fractions(yours: Callable[[torch.nn.Module, torch.Tensor], Any], X: torch.Tensor) -> None:
    """Check ``yours(model, X)``: per hidden unit, the fraction of the images X with z > 0.

    Builds two small networks of known state (8 hidden units with some biases shifted so that
    units are dead, always on, or in between; and a single unit), and compares with the
    reference, naming the usual mistakes: the wrong dimension, counts instead of fractions,
    the complement (the fraction where the unit is silent), and the output layer.
    """
    from .models import DeepMLP

    if not callable(yours):
        raise TypeError("check_firing_fractions: pass your function itself, "
                        "e.g. check_firing_fractions(firing_fractions, data.X_val)")
    name = getattr(yours, "__name__", "your function")
    X = X[:500]
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(0)
        wide, single = DeepMLP((8,)).to(X.device), DeepMLP((1,)).to(X.device)
    finally:
        torch.random.set_rng_state(generator_state)
    with torch.no_grad():
        wide.linears[0].bias.copy_(torch.tensor([-1.0, 1.0, 0.0, -0.05, 0.05, -1.0, 0.0, 0.02]))
        single.linears[0].bias.fill_(-1.0)
    for model, what in ((wide, "a network with 8 hidden units"), (single, "a network with one dead unit")):
        with torch.no_grad():
            expected = (model.linears[0](X.flatten(1)) > 0).float().mean(dim=0)
            got = yours(model, X)
        label = f"{name} on {what}"
        if isinstance(got, torch.Tensor):
            got = got.detach().float().to(expected.device)
            n = X.shape[0]
            if got.dim() == 0 or got.numel() == 1 and expected.numel() > 1:
                raise AnswerError(f"{label}: a single number; return one fraction per hidden unit (a tensor "
                                  f"of shape ({expected.numel()},)): average over the images only, dim=0.")
            if tuple(got.shape) == (n,):
                raise AnswerError(f"{label}: shape ({n},), one value per image; return one per hidden unit, "
                                  f"shape ({expected.numel()},): average over the images, dim=0, not over the units.")
            if tuple(got.shape) == (10,):
                raise AnswerError(f"{label}: shape (10,), one value per class: you used the output layer. "
                                  "Use the first layer, model.linears[0], whose outputs are the hidden units.")
            if got.shape == expected.shape:
                if torch.allclose(got, 1 - expected, atol=1e-6) and not torch.allclose(got, expected, atol=1e-6):
                    raise AnswerError(f"{label}: you computed how often each unit is silent (z <= 0), "
                                      "one minus the answer; count the images with z > 0.")
                if expected.sum() > 0 and torch.allclose(got, expected * n, atol=1e-3):
                    raise AnswerError(f"{label}: these are counts of images (up to {n}); divide by the "
                                      "number of images to get fractions (or use .float().mean(dim=0)).")
        if not (isinstance(got, torch.Tensor) and got.shape == expected.shape
                and torch.allclose(got, expected, atol=1e-6)):
            cmp(label, got, expected, atol=1e-6, rtol=0)  # raises, saying what differs
    print(f"✓ {name}: matches the reference on a network with dead, live and always-on units")


_FAILED_CASES: list[tuple[str, list[float], bool, str]] = [
    ("a run that learns", [2.30, 1.9, 1.4, 1.16], False,
     "the loss falls from 2.30 to 1.16, well below ln 10: this run learns, it has not failed"),
    ("a spike that recovers", [2.30, 3.3, 2.6, 1.77], False,
     "the loss jumps to 3.3 but ends at 1.77, below ln 10: judge by the last loss, not the largest"),
    ("stuck at chance", [2.30, 56.4, 4.1, 2.38], True,
     "every loss is finite, but the last one, 2.38, is not below ln 10 = 2.303: the network is no "
     "better than a uniform guess"),
    ("overflow to NaN", [2.30, 8.1e3, 2.9e29, math.nan], True,
     "the last loss is NaN, and NaN compares False with everything (nan > 2.3 is False, and so is "
     "nan < 2.3): test math.isfinite(loss) for every loss first"),
    ("overflow to inf", [2.30, 7.9e31, math.inf], True,
     "the last loss is infinite: a non-finite loss anywhere is a failure (math.isfinite)"),
    ("NaN in the middle", [2.30, math.nan, 1.5], True,
     "a NaN appears before the last step: once a loss is NaN the parameters are NaN too, so any "
     "non-finite loss means failure, wherever it is"),
]


def check_failed(yours: Callable[[Sequence[float]], Any]) -> None:
    """Check ``yours(losses)``: True when a run's per-step losses show failure, else False.

    Failure means a non-finite loss anywhere, or a last loss that is not below ln 10 (a uniform
    guess over 10 classes). The cases include the usual traps: NaN compares False with every
    number, and a loss that spikes and then recovers is still learning.
    """
    if not callable(yours):
        raise TypeError("check_failed: pass your function itself, e.g. check_failed(failed)")
    name = getattr(yours, "__name__", "your function")
    for label, losses, expected, why in _FAILED_CASES:
        got = yours(list(losses))
        if got is None:
            raise AnswerError(f"{name}: returned None for {label} {losses}; did it forget a `return`?")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = bool(got.item())
        if type(got).__name__ == "bool_":  # numpy's bool
            got = bool(got)
        if not isinstance(got, bool):
            raise AnswerError(f"{name}: returned {got!r} ({type(got).__name__}) for {label}; "
                              "return True or False.")
        if got != expected:
            raise AnswerError(f"{name}({losses}) = {got}, expected {expected} ({label}): {why}.")
    print(f"✓ {name}: right on all {len(_FAILED_CASES)} cases (learning, a recovered spike, stuck, NaN, inf)")


# ----------------------------------------------------------------------------------------------
# Backpropagation by hand (chapter 4): checks that name the usual wrong gradients
# ----------------------------------------------------------------------------------------------

__all__ += ["cmp_known", "cmp_relu_grad", "cmp_softmax_ce_grad"]


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


def cmp_relu_grad(name: str, yours: Any, dH: torch.Tensor, Z: torch.Tensor, expected: torch.Tensor,
                  **cmp_options: Any) -> None:
    """Check ``dZ``, the gradient through ``H = relu(Z)`` given ``dH``, naming the usual mistakes.

    The right answer is ``dH * (Z > 0)``: relu's derivative is the mask of the active units.
    """
    dH, Z = dH.detach(), Z.detach()
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


def cmp_softmax_ce_grad(name: str, yours: Any, O: torch.Tensor, y: torch.Tensor, expected: torch.Tensor,
                        **cmp_options: Any) -> None:
    """Check ``dO``, the gradient of the mean softmax cross-entropy with respect to the logits.

    The right answer is ``(softmax(O, dim=1) - onehot(y)) / B``; missing factors, flipped signs
    and transposes are named by :func:`cmp`, the mistakes specific to softmax here.
    """
    O = O.detach()
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


# ---------------------------------------------------------------------------------------------
# Chapters 1, 2, 3, 5 and 6: checks and references for the fill-ins of the main chapters.
# ---------------------------------------------------------------------------------------------
__all__ += ["check_mlp_net", "check_parameters", "check_sgd_step", "class_means"]


def class_means(X: torch.Tensor, y: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """The mean image of each class as rows: shape (num_classes, features), images flattened.

    Row ``c`` is the mean over every image of ``X`` whose label in ``y`` is ``c``; each image
    is read as one row of ``X[0].numel()`` features. A class without images gives a row of NaN.
    """
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"class_means: X and y must be tensors, got {type(X).__name__} and {type(y).__name__}")
    if X.dim() < 2 or y.dim() != 1 or len(X) != len(y):
        raise ValueError(f"class_means: X must be a batch (n, ...) and y its n labels, got shapes "
                         f"{tuple(X.shape)} and {tuple(y.shape)}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"class_means: num_classes must be an integer >= 1, got {num_classes!r}")
    rows = X.reshape(len(X), -1).to(torch.float32)
    labels = y.to(rows.device)
    sums = torch.zeros(num_classes, rows.shape[1], dtype=rows.dtype, device=rows.device)
    sums.index_add_(0, labels, rows)
    counts = torch.bincount(labels, minlength=num_classes)[:num_classes].to(rows.dtype)
    return sums / counts[:, None]


def _check_sizes(function: str, **sizes: Any) -> None:
    for label, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{function}: {label} must be an integer >= 1, got {n!r}")


def check_parameters(params: Any, num_inputs: int, num_hiddens: int, num_outputs: int,
                     sigma: float) -> None:
    """Check the reader's ``[W1, b1, W2, b2]`` of a one-hidden-layer MLP; print a tick or raise.

    Random weights cannot be compared entry by entry, so this checks what the chapter asks for:
    four tensors in that order, their shapes (naming a transposed weight), ``nn.Parameter``
    with ``requires_grad``, float32, biases exactly zero, and weights whose mean is about 0 and
    whose standard deviation is about ``sigma`` (naming ``sigma**2`` used as the standard
    deviation, a forgotten factor ``sigma``, and ``torch.rand`` in place of ``torch.randn``).
    Raises :class:`AnswerError` saying what is wrong and how to fix it.
    """
    _check_sizes("check_parameters", num_inputs=num_inputs, num_hiddens=num_hiddens, num_outputs=num_outputs)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 < sigma < math.inf:
        raise ValueError(f"check_parameters: sigma must be a positive number, got {sigma!r}")
    shapes = {"W1": (num_inputs, num_hiddens), "b1": (num_hiddens,),
              "W2": (num_hiddens, num_outputs), "b2": (num_outputs,)}
    names = list(shapes)
    if params is None:
        raise AnswerError("parameters: your code returned None; did it forget a `return`?")
    if isinstance(params, dict):
        params = list(params.values())
    if isinstance(params, torch.Tensor) or not hasattr(params, "__iter__"):
        raise AnswerError(f"parameters: expected the four tensors [W1, b1, W2, b2], got a "
                          f"{type(params).__name__}.")
    params = list(params)
    if len(params) != 4:
        raise AnswerError(f"parameters: expected four tensors W1, b1, W2, b2 (a weight matrix and a "
                          f"bias vector per layer, in this order), got {len(params)}.")
    for name, p in zip(names, params):
        if not isinstance(p, torch.Tensor):
            raise AnswerError(f"{name}: expected a tensor, got a {type(p).__name__}.")
    got = [tuple(p.shape) for p in params]
    if sorted(got) == sorted(shapes.values()) and got != list(shapes.values()):
        raise AnswerError("parameters: the shapes are right but the order is not: got "
                          f"{got}; return them as [W1, b1, W2, b2] = {list(shapes.values())}.")
    for name, p in zip(names, params):
        want = shapes[name]
        if tuple(p.shape) == want:
            continue
        message = f"{name}: shape {tuple(p.shape)}, expected {want}."
        if len(want) == 2 and tuple(p.shape) == want[::-1]:
            message += (f" That is the transpose: with X of shape (batch, inputs), X @ {name} needs "
                        f"{name} as (inputs, outputs) = {want}. (nn.Linear stores the transpose; "
                        "a hand-written layer does not.)")
        elif len(want) == 1 and p.numel() == want[0]:
            message += f" A bias is a vector of {want[0]} numbers: torch.zeros({want[0]})."
        raise AnswerError(message)
    for name, p in zip(names, params):
        if not isinstance(p, torch.nn.Parameter):
            raise AnswerError(f"{name}: a plain {type(p).__name__}, not an nn.Parameter. Wrap it, "
                              f"nn.Parameter(...), so that autograd tracks it and a module lists it "
                              "in parameters().")
        if not p.requires_grad:
            raise AnswerError(f"{name}: requires_grad is False, so autograd would never compute its "
                              "gradient; leave nn.Parameter's default requires_grad=True.")
        if p.dtype != torch.float32:
            raise AnswerError(f"{name}: dtype {p.dtype}, expected torch.float32 (the dtype of the "
                              "images and PyTorch's default); create it with torch.randn / torch.zeros "
                              "without a dtype, or convert with .float().")
    for name in ("b1", "b2"):
        b = params[names.index(name)].detach()
        if not torch.all(b == 0):
            raise AnswerError(f"{name}: {int((b != 0).sum())} of {b.numel()} entries are not zero; "
                              f"biases start at exactly zero: nn.Parameter(torch.zeros({b.numel()})).")
    for name in ("W1", "W2"):
        w = params[names.index(name)].detach().double()
        if not torch.isfinite(w).all():
            raise AnswerError(f"{name}: contains NaN or infinite entries.")
        n = w.numel()
        mean, std = w.mean().item(), (w.std().item() if n > 1 else 0.0)
        if std == 0:
            raise AnswerError(f"{name}: every entry is {mean:.3g}: all hidden units would compute the "
                              f"same thing forever. Draw the weights at random: torch.randn(...) * {sigma:g}.")
        if bool((w >= 0).all()):
            raise AnswerError(f"{name}: every entry is >= 0 (mean {mean:.3g}, standard deviation {std:.3g}): "
                              "that is torch.rand, uniform on [0, 1), instead of torch.randn, the "
                              "standard normal distribution. Use torch.randn(...) * sigma.")
        tolerance = 0.1 + 5 / math.sqrt(2 * n)  # a sample std of n normal draws is within ~1/sqrt(2n)
        if abs(std / sigma - 1) > tolerance:
            message = (f"{name}: standard deviation {std:.3g}, expected sigma = {sigma:g} "
                       f"(N(0, sigma^2) has standard deviation sigma).")
            if sigma != 1 and abs(std / sigma**2 - 1) < tolerance:
                message += (f" You used sigma^2 = {sigma**2:g} as the standard deviation: multiply "
                            f"torch.randn(...) by sigma, not by sigma**2.")
            elif sigma != 1 and abs(std - 1) < tolerance:
                message += f" Did you forget to multiply torch.randn(...) by sigma = {sigma:g}?"
            elif sigma != 1 and abs(std / math.sqrt(sigma) - 1) < tolerance:
                message += " You used sqrt(sigma) as the standard deviation: multiply by sigma."
            raise AnswerError(message)
        if abs(mean) > 5 * sigma / math.sqrt(n) + 0.05 * sigma:
            raise AnswerError(f"{name}: mean {mean:.3g}, expected about 0: the weights are drawn from "
                              "N(0, sigma^2), centred at zero (torch.randn(...) * sigma, nothing added).")
    total = sum(p.numel() for p in params)
    print(f"✓ parameters: W1 {shapes['W1']}, b1 {shapes['b1']}, W2 {shapes['W2']}, b2 {shapes['b2']} "
          f"({total:,} numbers), nn.Parameter, float32, biases zero, weight std about {sigma:g}")


def check_sgd_step(sgd_step: Callable[..., Any], lr: float = 0.1, seed: int = 0) -> None:
    """Check the reader's ``sgd_step(params, lr)`` against ``torch.optim.SGD``; print a tick or raise.

    Builds four small parameters with known gradients, applies the reader's step to them and
    PyTorch's SGD (followed by ``zero_grad``) to clones, and compares the updated values and
    the gradients left behind. Names the usual mistakes: a forgotten ``zero_grad``, a step in
    the wrong direction, a forgotten learning rate, an update that does not happen in place,
    gradients zeroed before they are used, and an in-place update outside ``torch.no_grad()``.
    """
    if not callable(sgd_step):
        raise TypeError(f"check_sgd_step: pass your function itself, got a {type(sgd_step).__name__}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
        raise ValueError(f"check_sgd_step: lr must be a number between 0 and 1 (exclusive), got {lr!r}")
    generator = torch.Generator().manual_seed(seed)
    shapes = [(6, 4), (4,), (4, 3), (3,)]
    start = [torch.randn(s, generator=generator) for s in shapes]
    grads = [torch.randn(s, generator=generator) for s in shapes]
    yours = [torch.nn.Parameter(t.clone()) for t in start]
    reference = [torch.nn.Parameter(t.clone()) for t in start]
    for p, q, g in zip(yours, reference, grads):
        p.grad, q.grad = g.clone(), g.clone()
    optimizer = torch.optim.SGD(reference, lr=lr)
    optimizer.step()
    optimizer.zero_grad()
    try:
        sgd_step(yours, lr)
    except RuntimeError as error:
        if "in-place" in str(error) or "leaf Variable" in str(error):
            raise AnswerError("sgd_step: PyTorch refused to change a parameter in place because autograd "
                              "records operations on it. Do the update inside `with torch.no_grad():`."
                              ) from error
        raise

    def close(a: torch.Tensor, b: torch.Tensor) -> bool:
        return torch.allclose(a, b, atol=1e-6, rtol=1e-5)

    for number, (p, q, s, g) in enumerate(zip(yours, reference, start, grads)):
        name = f"parameter {number}"
        value = p.detach()
        step = value - s
        zeroed = p.grad is None or not p.grad.any()
        if torch.equal(value, s):
            raise AnswerError(
                f"sgd_step: {name} did not change. " + (
                    "Its gradient is zero now: did you zero the gradients before using them? Update "
                    "first, then zero." if zeroed else
                    "`p = p - lr * p.grad` only gives the loop variable a new tensor; change the "
                    "parameter itself in place, p -= lr * p.grad (inside torch.no_grad())."))
        if not close(value, q.detach()):
            if close(step, lr * g):
                raise AnswerError("sgd_step: you subtracted the gradient with the wrong sign: the step went "
                                  "uphill. Gradient descent moves against the gradient: p -= lr * p.grad.")
            if close(step, -g):
                raise AnswerError(f"sgd_step: the step is the whole gradient: you forgot the learning rate "
                                  f"lr = {lr:g}. Use p -= lr * p.grad.")
            if close(step, g):
                raise AnswerError("sgd_step: you added the whole gradient: wrong sign and no learning rate. "
                                  "Use p -= lr * p.grad.")
            cmp(f"sgd_step: the change of {name}", step, q.detach() - s, atol=1e-6, rtol=1e-5)
        if not zeroed:
            raise AnswerError(f"sgd_step: the update is right, but {name} still holds its gradient: you "
                              "forgot zero_grad. backward() adds to .grad, so the next step would use the "
                              "sum of this gradient and the next. After the update, p.grad.zero_() "
                              "(or p.grad = None).")
    print(f"✓ sgd_step: same parameters as torch.optim.SGD(lr={lr:g}), and the gradients are zeroed")


def check_mlp_net(net: Any, X: torch.Tensor, num_hiddens: int = 256, num_outputs: int = 10) -> None:
    """Check the reader's concise one-hidden-layer MLP on the batch ``X``; print a tick or raise.

    Runs ``net`` on ``X`` (a dry run that creates lazy parameters) and checks the output shape
    (batch, num_outputs), the parameter count against
    ``nn.Sequential(nn.Flatten(), nn.LazyLinear(num_hiddens), nn.ReLU(), nn.LazyLinear(num_outputs))``,
    that the last layer is linear (no activation or softmax after it), and that the network is
    not linear as a whole (a missing activation). Names a missing ``nn.Flatten``.
    """
    if not isinstance(X, torch.Tensor) or X.dim() < 2 or len(X) < 2:
        shape = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
        raise ValueError(f"check_mlp_net: X must be a batch of at least 2 images, got {shape}")
    _check_sizes("check_mlp_net", num_hiddens=num_hiddens, num_outputs=num_outputs)
    if net is None:
        raise AnswerError("net: your code returned None; did it forget a `return`?")
    if not isinstance(net, torch.nn.Module):
        raise AnswerError(f"net: expected an nn.Module such as nn.Sequential(...), got a {type(net).__name__}.")
    net = net.to(X.device)  # the reader builds it on the CPU; the batch may live on a GPU
    modules = [m for m in net.modules() if not list(m.children())]
    no_flatten = "" if any(isinstance(m, torch.nn.Flatten) for m in modules) else (
        f" Your network has no nn.Flatten(): the linear layers were applied to each row of {X.shape[-1]} "
        "pixels instead of to the whole image. Start the sequence with nn.Flatten().")
    try:
        with torch.no_grad():
            out = net(X)
    except RuntimeError as error:
        raise AnswerError(f"net: running it on a batch of shape {tuple(X.shape)} failed: {error}."
                          + no_flatten) from error
    want = (len(X), num_outputs)
    if not isinstance(out, torch.Tensor):
        raise AnswerError(f"net: it returned a {type(out).__name__}, expected logits of shape {want}.")
    if tuple(out.shape) != want:
        message = f"net: output shape {tuple(out.shape)}, expected {want} (one row of logits per image)."
        if no_flatten:
            message += no_flatten
        elif tuple(out.shape) == (len(X), num_hiddens):
            message += f" The output layer is missing: end with nn.LazyLinear({num_outputs})."
        raise AnswerError(message)
    reference = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(num_hiddens), torch.nn.ReLU(),
                                    torch.nn.LazyLinear(num_outputs)).to(X.device)
    with torch.no_grad():
        reference(X[:1])
    expected_count = sum(p.numel() for p in reference.parameters())
    count = sum(p.numel() for p in net.parameters())
    if count != expected_count:
        widths = [m.out_features for m in modules if isinstance(m, torch.nn.Linear)]
        raise AnswerError(f"net: {count:,} parameters, expected {expected_count:,} (two fully connected "
                          f"layers, {X[0].numel()} -> {num_hiddens} -> {num_outputs}, each with a bias); "
                          f"your linear layers have output widths {widths}.")
    last = modules[-1] if modules else None
    if last is not None and not isinstance(last, torch.nn.Linear):
        kind = type(last).__name__
        extra = (" cross_entropy applies the softmax itself, so the model returns logits." if "Softmax" in kind
                 else " Logits can be any real number; the activation belongs between the two layers.")
        raise AnswerError(f"net: the last layer is {kind}, so the outputs are not a linear layer's logits."
                          + extra)
    with torch.no_grad():
        f0, f1, f2 = net(torch.zeros_like(X)), net(X), net(2 * X)
    if torch.allclose(f2, 2 * f1 - f0, atol=1e-5, rtol=1e-4):
        raise AnswerError("net: your network is linear: doubling the input changes the output exactly as "
                          "an affine map would (f(2x) = 2 f(x) - f(0)). Two linear layers in a row are one "
                          "linear layer; put an activation, nn.ReLU(), between them.")
    print(f"✓ net: output shape {want}, {count:,} parameters as in the reference, and not linear")


# ----------------------------------------------------------------------------------------------
# Chapter 8 (debugging guide): checks of the reader's dead_fraction
# ----------------------------------------------------------------------------------------------

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
        value = dead_fraction(matrix.clone())
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


__all__ += ["check_dead_fraction"]


# ----------------------------------------------------------------------------------------------
# Backpropagation by hand (chapter 4): checks that name the usual wrong gradients
# ----------------------------------------------------------------------------------------------

__all__ += ["cmp_known", "cmp_relu_grad", "cmp_softmax_ce_grad"]


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


def cmp_relu_grad(name: str, yours: Any, dH: torch.Tensor, Z: torch.Tensor, expected: torch.Tensor,
                  **cmp_options: Any) -> None:
    """Check ``dZ``, the gradient through ``H = relu(Z)`` given ``dH``, naming the usual mistakes.

    The right answer is ``dH * (Z > 0)``: relu's derivative is the mask of the active units.
    """
    dH, Z = dH.detach(), Z.detach()
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


def cmp_softmax_ce_grad(name: str, yours: Any, O: torch.Tensor, y: torch.Tensor, expected: torch.Tensor,
                        **cmp_options: Any) -> None:
    """Check ``dO``, the gradient of the mean softmax cross-entropy with respect to the logits.

    The right answer is ``(softmax(O, dim=1) - onehot(y)) / B``; missing factors, flipped signs
    and transposes are named by :func:`cmp`, the mistakes specific to softmax here.
    """
    O = O.detach()
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


# ----------------------------------------------------------------------------------------------
# Chapter 7 (the 2-D playground): each hidden unit's ramp
# ----------------------------------------------------------------------------------------------

def check_unit_contributions(yours: Callable[..., Any], X: torch.Tensor, W: torch.Tensor,
                             b: torch.Tensor, v: torch.Tensor) -> None:
    """Check the reader's ``unit_contributions(X, W, b, v)``: entry ``[n, j]`` must be
    ``v_j * relu(w_j . x_n + b_j)``, one column per hidden unit (see
    :func:`mlp_utils.playground.unit_contributions`), naming the usual mistakes."""
    from .playground import unit_contributions

    if not callable(yours):
        raise AnswerError(f"check_unit_contributions: pass your function itself, got a {type(yours).__name__}")
    X, W, b, v = (t.detach() for t in (X, W, b, v))
    expected = unit_contributions(X, W, b, v)
    Z = X @ W.T + b
    mistakes = {
        "you left out the ReLU: each unit contributes v_j * relu(w_j . x + b_j), which is 0 on one "
        "side of the unit's line, not a plane that keeps going.": Z * v,
        "you applied the ReLU after multiplying by v_j: relu(v_j * z) is never negative, so a unit "
        "could never vote for class 0. Take relu(z) first, then multiply by v_j.": torch.relu(Z * v),
        "you forgot the hidden bias b_j: without it every unit's line passes through the origin. "
        "Use relu(X @ W.T + b) * v.": torch.relu(X @ W.T) * v,
        "you left out the output weights v: multiply each unit's relu(w_j . x + b_j) by its "
        "v_j (column j by v[j]; broadcasting does it: relu(...) * v).": torch.relu(Z),
        "you added the output weights instead of multiplying by them: relu(X @ W.T + b) * v.":
            torch.relu(Z) + v,
    }
    cmp_known("unit_contributions", yours(X, W, b, v), expected, mistakes)


__all__ += ["check_unit_contributions"]


# ----------------------------------------------------------------------------------------------
# Exercise 5 (joint search): the reader's Optuna objective
# ----------------------------------------------------------------------------------------------

def check_objective(yours: Callable[..., Any], reference: Callable[..., Any],
                    params: dict[str, Any]) -> None:
    """Check the reader's Optuna ``objective(trial)`` against the reference objective.

    One trial of an in-memory study is fixed at ``params`` (``study.enqueue_trial``), so both
    objectives train the same settings under the same seed. The check names: a searched setting
    that was not suggested, or suggested under another name; a distribution that differs from
    the reference's (a learning rate not sampled on a log scale, other bounds or choices); and a
    score that differs (settings not passed on, another seed, or the test set instead of the
    validation split).
    """
    import optuna

    if not callable(yours):
        raise AnswerError(f"check_objective: pass your objective function itself, got a {type(yours).__name__}")
    studies = {}
    for who, objective in (("yours", yours), ("reference", reference)):
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
        study.enqueue_trial(dict(params))
        study.optimize(objective, n_trials=1)
        studies[who] = study.trials[0]
    mine, ref = studies["yours"], studies["reference"]
    missing = sorted(set(ref.distributions) - set(mine.distributions))
    extra = sorted(set(mine.distributions) - set(ref.distributions))
    if missing or extra:
        raise AnswerError(
            f"objective: your trial suggested {sorted(mine.distributions)}, the search space has "
            f"{sorted(ref.distributions)}"
            + (f"; missing {missing}" if missing else "") + (f"; not in the space {extra}" if extra else "")
            + ". Ask the trial for each searched setting by its name, e.g. trial.suggest_float('lr', ...).")
    for name, expected in ref.distributions.items():
        got = mine.distributions[name]
        if got != expected:
            hint = ""
            if getattr(expected, "log", False) and not getattr(got, "log", False):
                hint = " The learning rate spans two orders of magnitude: sample it with log=True."
            raise AnswerError(f"objective: {name!r} is suggested as {got}, the space says {expected}.{hint}")
    if mine.value is None or not isinstance(mine.value, (int, float)):
        raise AnswerError(f"objective: it returned {mine.value!r}; return the run's validation accuracy (run.acc)")
    if abs(mine.value - ref.value) > 1e-9:
        raise AnswerError(
            f"objective: at {params} yours scored {mine.value:.4f}, the reference {ref.value:.4f}. "
            "Build Settings from the suggested values plus the space's base settings, train with "
            "mlp_utils.train(settings, data, seed) under the same seed, and return run.acc (the "
            "validation accuracy; never the test set).")
    print(f"✓ objective: suggests {sorted(mine.distributions)} like the space, and scores {mine.value:.4f} "
          "like the reference")


__all__ += ["check_objective"]
