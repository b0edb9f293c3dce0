"""Chapter 4b: an MLP in plain Python (lists and loops only), the solutions of its fill-ins, and checks of
the reader's versions against autograd in float64. A batch is a list of rows ``X[n][i]``; ``Z = X W + b``."""
from __future__ import annotations

import copy
import functools
import math
import random
import traceback
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import torch

from .core import AnswerError, _again, _value_mistake, answer_check, attempt, check_cases

Matrix = list  # a list of rows, each a list of floats


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z), as e^z / (1 + e^z) for negative z, where math.exp(-z) could overflow."""
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


class Linear:
    """``Z = X W + b`` (``W[i][j]``: input i to output j); ``backward(dZ)`` stores ``dW = X^T dZ`` and ``db``
    from the ``X`` forward kept, and returns ``dX = dZ W^T`` (None when ``input_grad`` is False)."""

    def __init__(self, W: Matrix, b: list, input_grad: bool = True):
        self.W, self.b, self.input_grad = W, b, input_grad
        self.X = self.dW = self.db = None

    def forward(self, X: Matrix) -> Matrix:
        self.X = X
        columns = list(zip(*self.W))  # column j of W: the weights into output j
        return [[sum(x * w for x, w in zip(row, column)) + b for column, b in zip(columns, self.b)]
                for row in X]

    def backward(self, dZ: Matrix) -> Matrix | None:
        dZ_columns = list(zip(*dZ))   # column j: output j's gradient for every example
        self.dW = [[sum(x * g for x, g in zip(x_column, g_column)) for g_column in dZ_columns]
                   for x_column in zip(*self.X)]
        self.db = [sum(g_column) for g_column in dZ_columns]
        if not self.input_grad:
            return None
        return [[sum(g * w for g, w in zip(g_row, w_row)) for w_row in self.W] for g_row in dZ]


class Sigmoid:
    """Elementwise sigmoid; keeps its output ``Y``, since its derivative is ``Y (1 - Y)``."""

    def __init__(self):
        self.Y = None

    def forward(self, Z: Matrix) -> Matrix:
        self.Y = [[sigmoid(z) for z in row] for row in Z]
        return self.Y

    def backward(self, dY: Matrix) -> Matrix:
        return [[g * y * (1 - y) for g, y in zip(g_row, y_row)] for g_row, y_row in zip(dY, self.Y)]


class SquaredError:
    """The blog's loss ``sum((O - T)^2) / m`` (m examples); ``backward()`` gives ``2 (O - T) / m``."""

    def __init__(self):
        self.O = self.T = None

    def forward(self, O: Matrix, T: Matrix) -> float:
        self.O, self.T = O, T
        return sum((o - t) ** 2 for o_row, t_row in zip(O, T) for o, t in zip(o_row, t_row)) / len(O)

    def backward(self) -> Matrix:
        m = len(self.O)
        return [[2 * (o - t) / m for o, t in zip(o_row, t_row)] for o_row, t_row in zip(self.O, self.T)]


class SGD:
    """Plain gradient descent over the layers that have parameters (``W`` and ``b``)."""

    def __init__(self, layers: Sequence[Any], lr: float):
        self.layers = [layer for layer in layers if hasattr(layer, "W")]
        self.lr = lr

    def step(self) -> None:
        for layer in self.layers:
            layer.W = [[w - self.lr * g for w, g in zip(w_row, g_row)]
                       for w_row, g_row in zip(layer.W, layer.dW)]
            layer.b = [b - self.lr * g for b, g in zip(layer.b, layer.db)]


def train_epoch(layers: Sequence[Any], loss: Any, optimizer: Any,
                batches: Sequence[tuple[Matrix, Matrix]]) -> float:
    """One epoch: per batch (X, T), forward, loss, backward in reverse order, one step; the mean loss."""
    total = 0.0
    for X, T in batches:
        for layer in layers:
            X = layer.forward(X)
        total += loss.forward(X, T)
        grad = loss.backward()
        for layer in reversed(layers):
            grad = layer.backward(grad)
        optimizer.step()
    return total / len(batches)


def predict(layers: Sequence[Any], X: Matrix) -> list[int]:
    """The index of the largest output for each example of ``X``."""
    for layer in layers:
        X = layer.forward(X)
    return [max(range(len(row)), key=row.__getitem__) for row in X]


def accuracy(layers: Sequence[Any], X: Matrix, labels: Sequence[int], batch_size: int = 100) -> float:
    """The fraction of examples whose largest output is at their label (in batches, to bound memory)."""
    right = sum(guess == label for start in range(0, len(X), batch_size)
                for guess, label in zip(predict(layers, X[start:start + batch_size]),
                                        labels[start:start + batch_size]))
    return right / len(X)


def backward_one_example(x: list, t: list, h: list, y_hat: list,
                         w2: Matrix) -> tuple[list, Matrix, list, Matrix]:
    """The 2-3-2 network's backward pass for one example, unit by unit: delta2, dw2, delta1, dw1."""
    delta2 = [2 * (y - target) for y, target in zip(y_hat, t)]
    dw2 = [[h_j * d for d in delta2] for h_j in h]
    delta1 = [sum(w * d for w, d in zip(w2[j], delta2)) * h[j] * (1 - h[j]) for j in range(len(h))]
    dw1 = [[x_i * d for d in delta1] for x_i in x]
    return delta2, dw2, delta1, dw1


# The checks' plumbing: the reader's lists as float64 tensors, compared number by number.

def _call(name: str, function: Callable[..., Any], *inputs: Any, hint: str = "", returns: bool = True) -> Any:
    """:func:`attempt` on the inputs themselves, with a Python error in the reader's code explained."""
    try:
        return attempt(name, function, *inputs, copy=False, returns=returns)
    except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as error:
        raise AnswerError(f"{name} raised {type(error).__name__}: {error}. {hint}".rstrip()) from error


def _shape_of(value: Any) -> tuple[int, ...] | None:
    """() for a number, (n,) for a list of numbers, (rows, columns) for equal rows of numbers, else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ()
    if not isinstance(value, (list, tuple)):
        return None
    shapes = {_shape_of(v) for v in value}
    inner = shapes.pop() if len(shapes) == 1 else () if not shapes else None
    return (len(value), *inner) if inner is not None and len(inner) < 2 else None


def _describe(value: Any) -> str:
    """'one number', 'a list of 3 numbers', '2 rows of 3 numbers', or what else ``value`` is."""
    shape = _shape_of(value)
    if shape is not None:
        return f"{shape[0]} rows of {shape[1]} numbers" if len(shape) == 2 else (
            f"a list of {shape[0]} numbers" if shape else "one number")
    inner = sorted({type(v).__name__ for v in value}) if isinstance(value, (list, tuple)) else None
    return f"a {type(value).__name__}" + ("" if inner is None else f" of {', '.join(inner) or 'nothing'}")


def _as_double(name: str, yours: Any, expected: torch.Tensor, what: str = "") -> torch.Tensor:
    """The reader's value as a float64 tensor of ``expected``'s shape, or an AnswerError naming why not."""
    if yours is None:
        raise AnswerError(f"{name}: your code returned None; did it forget a `return`?")
    want, got, kind = tuple(expected.shape), _shape_of(yours), type(yours).__name__
    if isinstance(yours, torch.Tensor) or type(yours).__module__.startswith("numpy"):
        raise AnswerError(f"{name}: got a {kind}; this notebook's code uses Python lists and floats only "
                          "(no torch, no numpy): build the result with list comprehensions.")
    if hasattr(yours, "__next__"):
        raise AnswerError(f"{name}: got a {kind}, which can be read only once; build a list instead, "
                          "list(...) or [... for ...].")
    message = f"{name}: expected {_describe(expected.tolist())}{what}, got {_describe(yours)}."
    if got is not None and len(want) == 2 and got == want[::-1]:
        message += (" That is the transpose: rows and columns are swapped. Build it row by row in the "
                    "order the docstring gives, the first index outside, the second inside.")
    elif got is not None and len(want) == 1 and len(got) == 2 and got[1] == want[0]:
        message += (" One list per example: add them up over the batch (one number per column), "
                    "[sum(column) for column in zip(*rows)].")
    elif got is not None and want == ():
        message += " Return one number: add up the terms (and divide by the batch size m)."
    if got != want:
        raise AnswerError(message)
    return torch.tensor(yours, dtype=torch.float64)


_close = functools.partial(torch.allclose, rtol=1e-7, atol=1e-10)  # the checks' tolerance, in float64


def _compare(name: str, yours: Any, expected: torch.Tensor, mistakes: dict[str, torch.Tensor] | None = None,
             what: str = "", after: str = "", entry: str | None = None, most: int = 6) -> None:
    """Pass if ``yours`` matches ``expected``; else raise naming the matched mistake and the wrong numbers."""
    mine = _as_double(name, yours, expected, what)
    if _close(mine, expected):
        return
    why = next((f" {why}" for why, wrong in (mistakes or {}).items()
                if wrong is not None and wrong.shape == expected.shape and not _close(wrong, expected)
                and _close(mine, wrong)),
               None) or _value_mistake(mine, expected, lambda candidate: _close(candidate, expected))
    if mine.dim() == 0:
        raise AnswerError(f"{name}:{why} You got {mine.item():.6g}, expected {expected.item():.6g}.{after}")
    wrong = [tuple(at.tolist()) for at in (~torch.isclose(mine, expected, rtol=1e-7, atol=1e-10)).nonzero()]
    numbers = "; ".join(f"{entry or name}{''.join(f'[{i}]' for i in at)} = {mine[at].item():+.6f}, "
                        f"expected {expected[at].item():+.6f}" for at in wrong[:most])
    more = f"; and {len(wrong) - most} more" if len(wrong) > most else ""
    raise AnswerError(f"{name}:{why} {len(wrong)} of its {mine.numel()} numbers "
                      f"{'is' if len(wrong) == 1 else 'are'} wrong: {numbers}{more}.{after}")


def _unchanged(name: str, given: Any, before: Any) -> None:
    if given != before:
        raise AnswerError(f"{name}: your code changed a list it was given in place; the caller's data "
                          "changed with it. Build new lists instead.")


def _rand(rng: random.Random, rows: int, columns: int, scale: float = 1.0) -> Matrix:
    return [[rng.uniform(-scale, scale) for _ in range(columns)] for _ in range(rows)]


def _one_hot_rows(rng: random.Random, rows: int, classes: int) -> Matrix:
    labels = [rng.randrange(classes) for _ in range(rows)]
    return [[float(j == label) for j in range(classes)] for label in labels]


_t = functools.partial(torch.tensor, dtype=torch.float64)  # the reader's lists as a float64 tensor


@answer_check
def check_one_example(backward: Callable[..., Any], x: list, t: list, w1: Matrix, bias1: list,
                      w2: Matrix, bias2: list) -> None:
    """Check ``backward(x, t, h, y_hat, w2) -> (delta2, dw2, delta1, dw1)`` (2-3-2 net) with autograd."""
    W1, W2 = _t(w1).requires_grad_(), _t(w2).requires_grad_()
    Z1 = _t(x) @ W1 + _t(bias1)
    H = torch.sigmoid(Z1)
    Y = H @ W2 + _t(bias2)
    dY, dZ1, dW1, dW2 = torch.autograd.grad(((Y - _t(t)) ** 2).sum(), (Y, Z1, W1, W2))
    H, Y, Z1, W1, W2 = (v.detach() for v in (H, Y, Z1, W1, W2))
    result = _call("backward_one_example", backward, list(x), list(t), H.tolist(), Y.tolist(),
                   copy.deepcopy(w2), hint="w2[j][k] links hidden unit j (0..2) to output k (0..1); x has 2 "
                                           "entries, h 3, y_hat and t 2.")
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise AnswerError("backward_one_example: return the four results in this order: delta2, dw2, delta1, "
                          f"dw1 (got {_describe(result)}).")
    error, dE_dh = Y - _t(t), W2 @ dY
    rule, slope = "its derivative is 2 (y_hat - t)", "the sigmoid's slope is h[j] (1 - h[j])"
    needs = "the weight's gradient needs its input"
    for yours, (name, right, what, mistakes) in zip(result, (
            ("delta2", dY, " (one per output k)", {
                f"you wrote t - y_hat; the loss is (y_hat - t)^2 and {rule}.": -2 * error,
                f"the factor 2 is missing: the loss is (y_hat - t)^2 and {rule}.": error,
                f"that is the error squared, the loss's terms; delta2 is {rule}.": error ** 2}),
            ("dw2", dW2, " (a row per hidden unit j, a column per output k)", {
                "dw2[j][k] is h[j] * delta2[k], with h[j] the unit's output, not its pre-activation z1[j].":
                    torch.outer(Z1, dY),
                f"you multiplied delta2 by the weight w2[j][k]; {needs}, h[j] * delta2[k].": W2 * dY}),
            ("delta1", dZ1, " (one per hidden unit j)", {
                "the slope is missing: that is dE/dh[j]; delta1 is dE/dz1[j]: multiply by h[j] (1 - h[j]).":
                    dE_dh,
                f"you multiplied by h[j] only; {slope}.": dE_dh * H,
                f"you multiplied by (1 - h[j]) only; {slope}.": dE_dh * (1 - H),
                "the sum over k must use unit j's own weights, w2[j][k] delta2[k] (row j of w2).":
                    (W2.sum(dim=0) @ dY).expand(3) * H * (1 - H)}),
            ("dw1", dW1, " (a row per input i, a column per hidden unit j)", {
                f"you multiplied delta1 by the weight w1[i][j]; {needs}, x[i] * delta1[j].": W1 * dZ1}))):
        _compare(name, yours, right, mistakes, what=what,
                 after="" if name == "dw1" else " (The later results use this one: fix this one first.)")
    print("✓ one example by hand: all 17 numbers (delta2, dw2, delta1, dw1) match autograd; each bias's "
          "gradient is its unit's delta")


@answer_check
def check_linear(Linear_: type, seed: int = 0) -> None:
    """Check ``Linear`` with autograd: two passes (the second compared), then with input_grad=False."""
    rng = random.Random(seed)
    B, n_in, n_out = 3, 4, 5
    W, b = _rand(rng, n_in, n_out), _rand(rng, 1, n_out)[0]
    X_first, X = _rand(rng, B, n_in), _rand(rng, B, n_in)
    dZ, dZ_first = _rand(rng, B, n_out), _rand(rng, B, n_out)
    Wt, bt, Xt = (_t(v).requires_grad_() for v in (W, b, X))
    Z = Xt @ Wt + bt
    dX_right, dW_right, db_right = torch.autograd.grad(Z, (Xt, Wt, bt), _t(dZ))  # dZ handed back
    layer = _call("Linear(W, b)", Linear_, copy.deepcopy(W), copy.deepcopy(b))
    inputs = copy.deepcopy((X_first, dZ_first, X, dZ))
    forward = "W[i][j] links input i to output j: W has a row per input (4 here) of a weight per output (5)."
    backward = "backward(dZ) reads the input forward kept (self.X); dX[n][i] = sum_j dZ[n][j] W[i][j]."
    _call("Linear.forward", layer.forward, X_first, hint=forward)
    parameters = copy.deepcopy((getattr(layer, "W", None), getattr(layer, "b", None)))
    _call("Linear.backward", layer.backward, dZ_first, hint=backward, returns=False)
    if (getattr(layer, "W", None), getattr(layer, "b", None)) != parameters:
        raise AnswerError("Linear.backward changed the layer's weights (self.W or self.b): it only stores "
                          "self.dW and self.db; moving the weights is the optimizer's job (SGD, below).")
    _compare("Linear.forward", _call("Linear.forward", layer.forward, X, hint=forward), Z.detach(),
             {"the bias is missing: Z[n][j] = sum_i X[n][i] W[i][j] + b[j].": _t(X) @ _t(W)},
             what=" (a row per example, a column per output)", entry="Z")
    dX = _call("Linear.backward", layer.backward, dZ, hint=backward, returns=False)
    _unchanged("Linear", (X_first, dZ_first, X, dZ), inputs)
    if getattr(layer, "dW", None) is None or getattr(layer, "db", None) is None:
        raise AnswerError("Linear.backward: store the gradients on the layer, self.dW and self.db, for the "
                          "optimizer to read (they are still None).")
    Xd, dZd, first, dZ1 = _t(X), _t(dZ), _t(X_first), _t(dZ_first)
    for g, right, rule, what, grad in (
            ("dW", dW_right, "dW = X^T dZ", " (a row per input, a column per output)", lambda A, G: A.T @ G),
            ("db", db_right, "db = the column sums of dZ", " (one per output)", lambda A, G: G.sum(dim=0))):
        before = grad(first, dZ1)
        _compare(f"Linear.{g}", getattr(layer, g), right, {
            f"{g} uses the input of an earlier forward call: keep the latest one (self.X = X in forward).":
                grad(first, dZd),
            f"{g} holds the sum of this backward call's gradient and the previous one's: assign it anew "
            f"(self.{g} = [...]) in every call; SGD never zeroes them, so each step would use them all.":
                before + right,
            f"{g} is still the previous backward call's: compute it anew in every backward call.": before,
            f"{g} is from one example only: add the examples' shares up over the batch ({rule}).":
                grad(Xd[-1:], dZd[-1:]),
            f"{g} is divided by the batch size: the loss's gradient already holds the 1/m ({rule}).":
                right / B,
        }, what=what, entry=g, after=" (From the check's second forward and backward, as in training.)")
    _compare("Linear.backward (dX)", dX, dX_right, what=" (a row per example, a column per input)",
             entry="dX")
    quiet = _call("Linear(W, b, input_grad=False)", Linear_, copy.deepcopy(W), copy.deepcopy(b), False)
    _call("Linear.forward", quiet.forward, copy.deepcopy(X))
    if (dX := _call("Linear.backward", quiet.backward, copy.deepcopy(dZ), returns=False)) is not None:
        _compare("Linear.backward with input_grad=False", dX, dX_right, entry="dX")
    _compare("Linear.dW with input_grad=False", getattr(quiet, "dW", None), dW_right, entry="dW")
    print("✓ Linear: forward = X W + b; backward gives dX = dZ W^T and stores dW = X^T dZ and db (the "
          "column sums of dZ) from the input kept by forward, as autograd does, anew at every call")


@answer_check
def check_sigmoid(Sigmoid_: type, seed: int = 0) -> None:
    """Check the reader's ``Sigmoid`` against autograd, backward from the output of the latest forward."""
    rng = random.Random(seed)
    Z_first, Z, dY = _rand(rng, 3, 4, 4.0), _rand(rng, 3, 4, 4.0), _rand(rng, 3, 4)
    Zt = _t(Z).requires_grad_()
    dZ_right, = torch.autograd.grad(torch.sigmoid(Zt), Zt, _t(dY))
    inputs = copy.deepcopy((Z_first, Z, dY))
    layer = _call("Sigmoid()", Sigmoid_)
    _call("Sigmoid.forward", layer.forward, Z_first)
    Y = _call("Sigmoid.forward", layer.forward, Z, hint="math.exp(-z) for each number z of each row.")
    Zd, dYd, Yd, first = _t(Z), _t(dY), torch.sigmoid(_t(Z)), torch.sigmoid(_t(Z_first))
    _compare("Sigmoid.forward", Y, Yd, {"that is sigma(-z): the sigmoid is 1 / (1 + exp(-z)).":
                                        torch.sigmoid(-Zd)}, entry="Y")
    dZ = _call("Sigmoid.backward", layer.backward, dY, hint="backward(dY): use the output forward kept.")
    _unchanged("Sigmoid", (Z_first, Z, dY), inputs)
    slope = "the slope is y (1 - y)"
    _compare("Sigmoid.backward", dZ, dZ_right, {
        "the upstream gradient dY is missing: multiply the slope y (1 - y) by dY.": Yd * (1 - Yd),
        f"you applied the sigmoid again to the kept output, already sigma(z): {slope}.":
            dYd * torch.sigmoid(Yd) * (1 - torch.sigmoid(Yd)),
        f"{slope}; you multiplied by y only.": dYd * Yd,
        f"{slope}; you multiplied by (1 - y) only.": dYd * (1 - Yd),
        "you used the output of an earlier forward call: keep the latest (self.Y = ...).":
            dYd * first * (1 - first),
        f"that is z (1 - z), with the input z; {slope}, with y the output.": dYd * Zd * (1 - Zd),
    }, entry="dZ")
    print("✓ Sigmoid: forward = 1 / (1 + exp(-z)); backward = dY * y (1 - y) from the kept output, "
          "as autograd")


@answer_check
def check_squared_error(SquaredError_: type, seed: int = 0) -> None:
    """Check the reader's ``SquaredError``: ``forward(O, T)`` and ``backward()`` against autograd."""
    rng = random.Random(seed)
    m, k = 4, 10
    O, T = _rand(rng, m, k), _one_hot_rows(rng, m, k)
    Ot = _t(O).requires_grad_()
    loss = ((Ot - _t(T)) ** 2).sum(dim=1).mean()
    inputs = copy.deepcopy((O, T))
    layer = _call("SquaredError()", SquaredError_)
    value = _call("SquaredError.forward", layer.forward, O, T)
    diff, mse = _t(O) - _t(T), f"the mean over all {m} x {k} entries (F.mse_loss"
    no_m = "the division by the batch size m is missing"
    _compare("SquaredError.forward", value, loss.detach(), {
        f"that is {mse}); the blog sums over the {k} outputs, then divides by m.":
            (diff ** 2).sum() / (m * k),
        f"{no_m}: the loss is the mean over the examples of their sums over the outputs.": (diff ** 2).sum()})
    grad = _call("SquaredError.backward", layer.backward, hint="backward() takes nothing: use O, T kept.")
    _unchanged("SquaredError", (O, T), inputs)
    _compare("SquaredError.backward", grad, torch.autograd.grad(loss, Ot)[0], {
        f"that is the gradient of {mse}'s); the blog's loss sums over the outputs: 2 (o - t) / m.":
            2 * diff / (m * k),
        f"{no_m}: 2 (o - t) / m (the blog's 2/m).": 2 * diff,
        "the factor 2 is missing: the derivative of (o - t)^2 is 2 (o - t).": diff / m,
        "the sign is flipped: the derivative with respect to o is 2 (o - t) / m, not 2 (t - o) / m.":
            -2 * diff / m,
    }, entry="dO")
    print("✓ SquaredError: forward = sum of (o - t)^2 / m; backward = 2 (o - t) / m, as autograd")


@answer_check
def check_sgd(SGD_: type, lr: float = 0.1, seed: int = 0) -> None:
    """Check the reader's ``SGD(layers, lr).step()`` at two learning rates, two steps each."""
    other = round(lr * 0.37, 6)
    _check_sgd_once(SGD_, lr, seed)
    _again(f"SGD: right at lr={lr:g} but not at lr={other:g}: use self.lr, not a fixed number.",
           lambda: _check_sgd_once(SGD_, other, seed + 1))
    print(f"✓ SGD: each step sets W to W - lr dW and b to b - lr db in every layer with parameters "
          f"(lr={lr:g} and {other:g}, two steps each)")


def _check_sgd_once(SGD_: type, lr: float, seed: int) -> None:
    rng = random.Random(seed)
    params = [SimpleNamespace(W=_rand(rng, n_in, n_out), b=_rand(rng, 1, n_out)[0],
                              dW=_rand(rng, n_in, n_out), db=_rand(rng, 1, n_out)[0])
              for n_in, n_out in [(4, 3), (3, 2)]]
    layers = [params[0], SimpleNamespace(Y=None), params[1], SimpleNamespace()]  # sigmoids have no W
    optimizer = _call("SGD(layers, lr)", SGD_, layers, lr)
    fixes = {"b": "The weights moved but not the biases: update b with db too.",
             "W": "Assigning to a loop variable (w_row = [...]) changes nothing in the layer: assign the new "
                  "lists to layer.W and layer.b (or change the rows in place, w_row[:] = [...])."}
    for step in (1, 2):
        before = [(_t(p.W), _t(p.b), _t(p.dW), _t(p.db)) for p in params]
        _call("SGD.step", optimizer.step, hint="Only the layers with parameters have W, b, dW and db.",
              returns=False)
        for number, (layer, (W, b, dW, db)) in enumerate(zip(params, before)):
            for what, value, old, grad in (("W", layer.W, W, dW), ("b", layer.b, b, db)):
                _compare(f"SGD.step: layers[{2 * number}].{what} after step {step}", value, old - lr * grad, {
                    f"it did not change. {fixes[what]}": old,
                    "the step went uphill: gradient descent moves against the gradient, w - lr * g.":
                        old + lr * grad,
                    f"the learning rate is missing: w - lr * g with lr = self.lr ({lr:g}).": old - grad,
                }, entry=what)
        for layer in params:  # new gradients for the second step
            layer.dW, layer.db = _rand(rng, len(layer.W), len(layer.W[0])), _rand(rng, 1, len(layer.b))[0]


@answer_check
def check_train_epoch(train_epoch_: Callable[..., Any], seed: int = 0) -> None:
    """Check ``train_epoch`` on the reference pieces (a 6-5-4-3 sigmoid network) against autograd's epoch."""
    rng = random.Random(seed)
    sizes, lr = [6, 5, 4, 3], 0.5
    initial = [(_rand(rng, a, b_), _rand(rng, 1, b_)[0]) for a, b_ in zip(sizes[:-1], sizes[1:])]
    batches = [([[rng.random() for _ in range(sizes[0])] for _ in range(2)], _one_hot_rows(rng, 2, sizes[-1]))
               for _ in range(3)]
    (reference, losses), (last_only, _) = (_autograd_epoch(initial, b, lr) for b in (batches, batches[-1:]))
    layers = _network(initial)
    try:
        result = attempt("train_epoch", train_epoch_, layers, SquaredError(), SGD(layers, lr),
                         copy.deepcopy(batches), copy=False, returns=False)
    except (TypeError, IndexError, ValueError, AttributeError) as error:
        fix = _epoch_fix(error, layers)
        raise AnswerError(f"train_epoch raised {type(error).__name__}: {error}. {fix}") from error
    found = [(n, layer, what) for n, layer in enumerate(layers) if isinstance(layer, Linear) for what in "Wb"]
    for (number, layer, what), start, right, last in zip(found, sum(initial, ()), reference, last_only):
        if _shape_of(value := getattr(layer, what)) != _shape_of(start):
            raise AnswerError(f"train_epoch: after the epoch layers[{number}].{what} is {_describe(value)}, "
                              f"expected {_describe(start)}: a layer's backward got another's gradient. "
                              "Pass it on: grad = layer.backward(grad), for layer in reversed(layers).")
        _compare(f"train_epoch: layers[{number}].{what} after the epoch", value, right, {
            "the parameters did not change: call optimizer.step() after each batch's backward.": _t(start),
            "only the last batch moved the parameters: step once per batch, after its backward pass.": last,
        }, entry=what, after=" Per batch: forward through every layer, loss.forward(O, T), "
                             "grad = loss.backward(), grad = layer.backward(grad) in reverse order, step.")
    right, mean = "the parameters are right, but it returned", "the mean of the batches' losses"
    check_cases("train_epoch", lambda: result, [()], lambda: sum(losses) / len(losses), [
        (f"{right} the last batch's loss; return {mean}.", lambda: losses[-1]),
        (f"{right} the sum of the batches' losses; return {mean}.", lambda: sum(losses)),
    ], calls=["train_epoch"], rtol=1e-9, differ=lambda call, yours, expected: (
        f"train_epoch: {right} {yours:.6g}, expected {mean}, {expected:.6g}."),
        tick=f"✓ train_epoch: after {len(batches)} batches the parameters and the mean loss equal "
             "autograd's (forward, loss, backward in reverse order, one step per batch)")


def _epoch_fix(error: Exception, layers: list[Any]) -> str:
    """What to fix in a train_epoch that raised ``error`` while running on ``layers``."""
    order = "The backward pass goes through the layers in reverse order: grad = layer.backward(grad)."
    if not isinstance(error, TypeError):
        return order
    if not any(frame.f_code is SGD.step.__code__ for frame, _ in traceback.walk_tb(error.__traceback__)):
        return ("Each layer's forward takes the previous layer's output; loss.forward(O, T) takes the "
                f"network's output and the batch's targets; loss.backward() takes nothing. {order}")
    linear = [n for n, layer in enumerate(layers) if isinstance(layer, Linear)]
    skipped = [f"layers[{n}]" for n in linear if layers[n].dW is None]
    if len(skipped) == len(linear):
        return "The optimizer stepped before any layer's backward had stored gradients: step after backward."
    return (f"The backward pass never called the backward of {' and '.join(skipped)} (dW still None when the "
            "optimizer steps): every layer's backward must run, for layer in reversed(layers).")


def _network(initial: Sequence[tuple[Matrix, list]]) -> list[Any]:
    """The reference sigmoid network with the given (W, b) per layer, its first layer without dX."""
    return [layer for number, (W, b) in enumerate(copy.deepcopy(list(initial)))
            for layer in (Linear(W, b, input_grad=number > 0), Sigmoid())][:-1]  # no sigmoid on the output


def _autograd_epoch(initial: Sequence[tuple[Matrix, list]], batches: Sequence[tuple[Matrix, Matrix]],
                    lr: float) -> tuple[list[torch.Tensor], list[float]]:
    """The same epoch with autograd: the final parameters and the batches' losses."""
    params = [_t(v).requires_grad_() for W, b in initial for v in (W, b)]
    losses = []
    for X, T in batches:
        H = _t(X)
        for i in range(0, len(params), 2):
            H = (torch.sigmoid(H) if i else H) @ params[i] + params[i + 1]
        loss = ((H - _t(T)) ** 2).sum(dim=1).mean()
        losses.append(loss.item())
        with torch.no_grad():
            for p, grad in zip(params, torch.autograd.grad(loss, params)):
                p -= lr * grad
    return [p.detach() for p in params], losses
