"""Chapter 4b's checks: the MLP in plain Python (lists and loops), each piece against autograd.

Every right answer here, in several formulations, must pass (printing a tick); every wrong one
must raise an AnswerError whose message names the mistake and points at the right fix.
"""
from __future__ import annotations

import math
import operator

import pytest
import torch

from mlp_utils.answers import (AnswerError, check_linear, check_one_example, check_sgd, check_sigmoid,
                               check_squared_error, check_train_epoch, todo)
from mlp_utils.answers import plain_python as plain

X1, T1 = [0.5, -0.2], [1.0, 0.0]
W1 = [[0.1, -0.3, 0.4], [0.2, 0.5, -0.1]]
B1 = [0.0, 0.1, -0.1]
W2 = [[0.3, -0.2], [-0.4, 0.6], [0.5, 0.1]]
B2 = [0.05, -0.05]
NETWORK = (X1, T1, W1, B1, W2, B2)


def refuses(check, answer, *words):
    with pytest.raises(AnswerError) as error:
        check(answer)
    for word in words:
        assert word in str(error.value), f"{word!r} not in: {error.value}"
    return str(error.value)


# ---- the reference pieces are lists and loops only, and right ---------------------------------

def test_the_reference_uses_no_torch_or_numpy_in_its_pieces():
    import inspect
    for piece in (plain.sigmoid, plain.Linear, plain.Sigmoid, plain.SquaredError, plain.SGD,
                  plain.train_epoch, plain.predict, plain.accuracy, plain.backward_one_example):
        source = inspect.getsource(piece)
        assert "torch" not in source and "numpy" not in source and "np." not in source, piece.__name__


def test_the_reference_sigmoid_does_not_overflow():
    assert plain.sigmoid(-800.0) == 0.0 and plain.sigmoid(800.0) == 1.0
    assert math.isclose(plain.sigmoid(0.3), torch.sigmoid(torch.tensor(0.3, dtype=torch.float64)).item(),
                        rel_tol=1e-15)


def test_the_reference_pieces_pass_their_checks(capsys):
    check_one_example(plain.backward_one_example, *NETWORK)
    check_linear(plain.Linear)
    check_sigmoid(plain.Sigmoid)
    check_squared_error(plain.SquaredError)
    check_sgd(plain.SGD)
    check_train_epoch(plain.train_epoch)
    assert capsys.readouterr().out.count("✓") == 6


def test_a_reference_network_trains_like_autograd_for_several_steps():
    g = torch.Generator().manual_seed(3)
    sizes = [12, 7, 5, 4]
    initial = [((0.5 * torch.randn(a, b, generator=g, dtype=torch.float64)).tolist(), [0.1] * b)
               for a, b in zip(sizes[:-1], sizes[1:])]
    X = torch.rand(20, 12, generator=g, dtype=torch.float64)
    T = torch.nn.functional.one_hot(torch.randint(0, 4, (20,), generator=g), 4).double()
    batches = [(X[i:i + 5].tolist(), T[i:i + 5].tolist()) for i in range(0, 20, 5)]
    layers = plain._network(initial)
    mean = plain.train_epoch(layers, plain.SquaredError(), plain.SGD(layers, 0.3), batches)
    reference, losses = plain._autograd_epoch(initial, batches, 0.3)
    mine = [torch.tensor(v, dtype=torch.float64) for l in layers if isinstance(l, plain.Linear) for v in (l.W, l.b)]
    assert all(torch.allclose(a, b, rtol=1e-12, atol=1e-14) for a, b in zip(mine, reference))
    assert math.isclose(mean, sum(losses) / len(losses), rel_tol=1e-12)
    assert plain.predict(layers, X[:3].tolist()) == plain.predict(layers, X[:3].tolist())
    assert 0 <= plain.accuracy(layers, X.tolist(), T.argmax(1).tolist(), batch_size=7) <= 1


def test_an_unwritten_stub_says_so_without_raising(capsys):
    def stub(*args):
        raise todo("write it")

    class Stub:
        def __init__(self, *args, **kwargs):
            pass

        def forward(self, *args):
            raise todo("write it")

        def backward(self, *args):
            raise todo("write it")

        def step(self):
            raise todo("write it")

    check_one_example(stub, *NETWORK)
    for check in (check_linear, check_sigmoid, check_squared_error, check_sgd):
        check(Stub)
    check_train_epoch(stub)
    out = capsys.readouterr().out
    assert out.count("not written yet") == 6 and "✓" not in out


# ---- one example of the 2-3-2 network, number by number ---------------------------------------

def one_example_loops(x, t, h, y_hat, w2):
    delta2, dw2, delta1, dw1 = [], [], [], []
    for k in range(2):
        delta2.append(2 * (y_hat[k] - t[k]))
    for j in range(3):
        dw2.append([h[j] * delta2[k] for k in range(2)])
    for j in range(3):
        total = 0.0
        for k in range(2):
            total += w2[j][k] * delta2[k]
        delta1.append(total * h[j] * (1 - h[j]))
    for i in range(2):
        dw1.append([x[i] * delta1[j] for j in range(3)])
    return delta2, dw2, delta1, dw1


def one_example_tuples(x, t, h, y_hat, w2):
    delta2 = tuple(2 * y - 2 * target for y, target in zip(y_hat, t))
    dw2 = [tuple(hj * d for d in delta2) for hj in h]
    delta1 = [h_j * (1 - h_j) * sum(map(operator.mul, row, delta2)) for h_j, row in zip(h, w2)]
    dw1 = [[xi * d for d in delta1] for xi in x]
    return [delta2, dw2, delta1, dw1]


@pytest.mark.parametrize("right", [plain.backward_one_example, one_example_loops, one_example_tuples])
def test_one_example_accepts_every_right_formulation(right, capsys):
    check_one_example(right, *NETWORK)
    assert "all 17 numbers" in capsys.readouterr().out


def changed(part, new):
    """The right answer with one of its four results replaced by new(x, t, h, y_hat, w2, right)."""
    def answer(x, t, h, y_hat, w2):
        results = list(plain.backward_one_example(x, t, h, y_hat, w2))
        results[part] = new(x, t, h, y_hat, w2, results)
        return tuple(results)
    return answer


def delta1_without_slope(x, t, h, y_hat, w2, r):
    return [sum(w * d for w, d in zip(w2[j], r[0])) for j in range(3)]


@pytest.mark.parametrize("wrong, words", [
    (changed(0, lambda x, t, h, y, w2, r: [2 * (b - a) for a, b in zip(y, t)]), ["delta2", "2 (y_hat - t)"]),
    (changed(0, lambda x, t, h, y, w2, r: [a - b for a, b in zip(y, t)]), ["factor 2 is missing"]),
    (changed(1, lambda x, t, h, y, w2, r: [[hj * d for hj in h] for d in r[0]]), ["dw2", "transpose"]),
    (changed(1, lambda x, t, h, y, w2, r: [[w2[j][k] * r[0][k] for k in range(2)] for j in range(3)]),
     ["dw2", "its input, h[j] * delta2[k]"]),
    (changed(2, delta1_without_slope), ["delta1", "multiply by h[j] (1 - h[j])"]),
    (changed(2, lambda x, t, h, y, w2, r: [v * h[j] for j, v in enumerate(delta1_without_slope(x, t, h, y, w2, r))]),
     ["delta1", "h[j] only"]),
    (changed(3, lambda x, t, h, y, w2, r: [[xi * d for xi in x] for d in r[2]]), ["dw1", "transpose"]),
    (changed(3, lambda x, t, h, y, w2, r: [[hj * d for d in r[2]] for hj in h]), ["dw1", "3 rows", "2 rows"]),
    (lambda x, t, h, y, w2: plain.backward_one_example(x, t, h, y, w2)[:3], ["four results"]),
    (lambda x, t, h, y, w2: None, ["None"]),
    (lambda x, t, h, y, w2: [w2[k][j] for k in range(2) for j in range(3)], ["IndexError", "w2[j][k]"]),
])
def test_one_example_refuses_wrong_answers_naming_the_mistake(wrong, words):
    refuses(lambda answer: check_one_example(answer, *NETWORK), wrong, *words)


def test_one_example_names_each_wrong_number_with_the_right_value():
    def one_wrong(x, t, h, y_hat, w2):
        delta2, dw2, delta1, dw1 = plain.backward_one_example(x, t, h, y_hat, w2)
        delta1 = list(delta1)
        delta1[2] = -delta1[2]
        return delta2, dw2, delta1, dw1
    message = refuses(lambda answer: check_one_example(answer, *NETWORK), one_wrong, "delta1[2] = +0.170209",
                      "expected -0.170209", "1 of its 3 numbers is wrong", "fix this one first")
    assert "delta1[0]" not in message


# ---- Linear -----------------------------------------------------------------------------------

class LinearLoops:
    def __init__(self, W, b, input_grad=True):
        self.W, self.b, self.input_grad = W, b, input_grad
        self.X = self.dW = self.db = None

    def forward(self, X):
        self.X = X
        Z = []
        for x in X:
            row = []
            for j in range(len(self.b)):
                total = self.b[j]
                for i in range(len(x)):
                    total += x[i] * self.W[i][j]
                row.append(total)
            Z.append(row)
        return Z

    def backward(self, dZ):
        n_in, n_out = len(self.W), len(self.b)
        self.dW = [[0.0] * n_out for _ in range(n_in)]
        self.db = [0.0] * n_out
        for x, g in zip(self.X, dZ):
            for j in range(n_out):
                self.db[j] += g[j]
                for i in range(n_in):
                    self.dW[i][j] += x[i] * g[j]
        if not self.input_grad:
            return None
        return [[sum(g[j] * self.W[i][j] for j in range(n_out)) for i in range(n_in)] for g in dZ]


class LinearAlwaysDX(plain.Linear):
    """Ignores input_grad: returns dX anyway (slower, still right)."""

    def backward(self, dZ):
        self.input_grad = True
        return super().backward(dZ)


def variant(**methods):
    return type("Variant", (plain.Linear,), methods)


def forward_no_bias(self, X):
    self.X = X
    return [[sum(x * w for x, w in zip(row, col)) for col in zip(*self.W)] for row in X]


def forward_keeps_nothing(self, X):
    return [[sum(x * w for x, w in zip(row, col)) + b for col, b in zip(zip(*self.W), self.b)] for row in X]


def forward_keeps_first(self, X):
    if self.X is None:
        self.X = X
    return forward_keeps_nothing(self, X)


def with_dW(make):
    def backward(self, dZ):
        result = plain.Linear.backward(self, dZ)
        self.dW = make(self, dZ)
        return result
    return backward


def with_db(make):
    def backward(self, dZ):
        result = plain.Linear.backward(self, dZ)
        self.db = make(self, dZ)
        return result
    return backward


def backward_in_place(self, dZ):
    result = plain.Linear.backward(self, dZ)
    dZ[0][0] = 0.0
    return result


def backward_no_store(self, dZ):
    return [[sum(g * w for g, w in zip(g_row, w_row)) for w_row in self.W] for g_row in dZ]


def backward_dX_without_transpose(self, dZ):
    plain.Linear.backward(self, dZ)
    return [[sum(g[j] * self.W[j][i] for j in range(len(g))) for i in range(len(self.W))] for g in dZ]


class LinearAccumulating(plain.Linear):
    """Adds each backward call's gradients to the stored ones (as PyTorch's .grad does)."""

    def backward(self, dZ):
        old = (self.dW, self.db)
        dX = super().backward(dZ)
        if old[0] is not None:
            self.dW = [[a + c for a, c in zip(r, q)] for r, q in zip(old[0], self.dW)]
            self.db = [a + c for a, c in zip(old[1], self.db)]
        return dX


class LinearUpdatingItself(plain.Linear):
    """Applies an SGD step to its own weights inside backward."""

    def backward(self, dZ):
        dX = super().backward(dZ)
        self.W = [[w - 0.1 * g for w, g in zip(r, q)] for r, q in zip(self.W, self.dW)]
        self.b = [w - 0.1 * g for w, g in zip(self.b, self.db)]
        return dX


class LinearUpdatingInPlace(plain.Linear):
    """The same step, in place, on the rows of W."""

    def backward(self, dZ):
        dX = super().backward(dZ)
        for row, g_row in zip(self.W, self.dW):
            row[:] = [w - 0.1 * g for w, g in zip(row, g_row)]
        return dX


class LinearComputingOnce(plain.Linear):
    """Computes the gradients at the first backward call only."""

    def backward(self, dZ):
        if self.dW is None:
            return super().backward(dZ)
        return [[sum(g * w for g, w in zip(g_row, w_row)) for w_row in self.W] for g_row in dZ]


class LinearKeepingColumns(plain.Linear):
    """Keeps the columns of X as well as X, and builds dW from them."""

    def forward(self, X):
        self.columns = [list(c) for c in zip(*X)]
        return super().forward(X)

    def backward(self, dZ):
        dX = super().backward(dZ)
        self.dW = [[sum(x * g for x, g in zip(column, g_column)) for g_column in zip(*dZ)]
                   for column in self.columns]
        return dX


@pytest.mark.parametrize("right", [plain.Linear, LinearLoops, LinearAlwaysDX, LinearKeepingColumns])
def test_linear_accepts_every_right_formulation(right, capsys):
    check_linear(right)
    assert "✓ Linear" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (variant(forward=forward_no_bias), ["bias is missing"]),
    (variant(forward=forward_keeps_nothing), ["self.X"]),
    (variant(forward=forward_keeps_first), ["latest", "self.X = X"]),
    (variant(backward=with_dW(lambda s, dZ: [list(r) for r in zip(*s.dW)])),
     ["transpose"]),
    (variant(backward=with_dW(lambda s, dZ: [[x * g for g in dZ[-1]] for x in s.X[-1]])), ["one example only"]),
    (variant(backward=with_dW(lambda s, dZ: [[v / len(dZ) for v in row] for row in s.dW])),
     ["divided by the batch size"]),
    (variant(backward=with_db(lambda s, dZ: [list(r) for r in dZ])), ["add them up over the batch"]),
    (variant(backward=with_db(lambda s, dZ: [sum(c) / len(dZ) for c in zip(*dZ)])), ["db", "divided by the batch size"]),
    (variant(backward=backward_in_place), ["in place"]),
    (variant(backward=backward_no_store), ["self.dW"]),
    (variant(backward=backward_dX_without_transpose), ["IndexError", "dX[n][i] = sum_j dZ[n][j] W[i][j]"]),
    (LinearAccumulating, ["dW holds the sum", "self.dW = [...]", "SGD never zeroes"]),
    (LinearUpdatingItself, ["changed the layer's weights", "optimizer"]),
    (LinearUpdatingInPlace, ["changed the layer's weights", "optimizer"]),
    (LinearComputingOnce, ["previous backward call's", "anew"]),
])
def test_linear_refuses_wrong_classes_naming_the_mistake(wrong, words):
    refuses(check_linear, wrong, *words)


def test_linear_refuses_a_tensor_result():
    def forward_torch(self, X):
        self.X = X
        return torch.tensor(X, dtype=torch.float64) @ torch.tensor(self.W, dtype=torch.float64) + torch.tensor(self.b)
    refuses(check_linear, variant(forward=forward_torch), "lists and floats only")


# ---- Sigmoid ----------------------------------------------------------------------------------

class SigmoidLoops:
    def __init__(self):
        self.Y = None

    def forward(self, Z):
        self.Y = []
        for row in Z:
            self.Y.append([1 / (1 + math.exp(-z)) for z in row])
        return self.Y

    def backward(self, dY):
        out = []
        for g_row, y_row in zip(dY, self.Y):
            out.append([g * (y - y * y) for g, y in zip(g_row, y_row)])
        return out


def sigmoid_variant(forward=None, backward=None):
    methods = {}
    if forward:
        methods["forward"] = forward
    if backward:
        methods["backward"] = backward
    return type("SigmoidVariant", (plain.Sigmoid,), methods)


@pytest.mark.parametrize("right", [plain.Sigmoid, SigmoidLoops])
def test_sigmoid_accepts_every_right_formulation(right, capsys):
    check_sigmoid(right)
    assert "✓ Sigmoid" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (sigmoid_variant(forward=lambda s, Z: [[1 / (1 + math.exp(z)) for z in r] for r in Z]), ["sigma(-z)"]),
    (sigmoid_variant(backward=lambda s, dY: [[y * (1 - y) for y in r] for r in s.Y]), ["upstream gradient dY is missing"]),
    (sigmoid_variant(backward=lambda s, dY: [[g * plain.sigmoid(y) * (1 - plain.sigmoid(y)) for g, y in zip(a, b)]
                                             for a, b in zip(dY, s.Y)]), ["applied the sigmoid again"]),
    (sigmoid_variant(backward=lambda s, dY: [[g * y for g, y in zip(a, b)] for a, b in zip(dY, s.Y)]), ["y only"]),
    (sigmoid_variant(backward=lambda s, dY: [[g * (1 - y) for g, y in zip(a, b)] for a, b in zip(dY, s.Y)]),
     ["(1 - y) only"]),
])
def test_sigmoid_refuses_wrong_classes_naming_the_mistake(wrong, words):
    refuses(check_sigmoid, wrong, *words)


def test_sigmoid_refuses_a_forward_that_keeps_the_first_output():
    class KeepsFirst(plain.Sigmoid):
        def forward(self, Z):
            Y = [[plain.sigmoid(z) for z in row] for row in Z]
            if self.Y is None:
                self.Y = Y
            return Y
    refuses(check_sigmoid, KeepsFirst, "earlier forward call")


# ---- the blog's loss ---------------------------------------------------------------------------

class SquaredErrorLoops:
    def forward(self, O, T):
        self.O, self.T = O, T
        total = 0.0
        for o_row, t_row in zip(O, T):
            for o, t in zip(o_row, t_row):
                total += (o - t) * (o - t)
        return total / len(O)

    def backward(self):
        m = len(self.O)
        return [[(2 / m) * (o - t) for o, t in zip(a, b)] for a, b in zip(self.O, self.T)]


def loss_variant(forward=None, backward=None):
    methods = {}
    if forward:
        methods["forward"] = forward
    if backward:
        methods["backward"] = backward
    return type("LossVariant", (plain.SquaredError,), methods)


def keep_and(value):
    def forward(self, O, T):
        self.O, self.T = O, T
        return value(O, T)
    return forward


class SquaredErrorFromLabels:
    """Reads each row's label from its one-hot target, T[n].index(1.0)."""

    def forward(self, O, T):
        self.O, self.labels = O, [row.index(1.0) for row in T]
        return sum((o - (k == label)) ** 2 for row, label in zip(O, self.labels) for k, o in enumerate(row)) / len(O)

    def backward(self):
        m = len(self.O)
        return [[2 * (o - (k == label)) / m for k, o in enumerate(row)] for row, label in zip(self.O, self.labels)]


@pytest.mark.parametrize("right", [plain.SquaredError, SquaredErrorLoops, SquaredErrorFromLabels])
def test_squared_error_accepts_every_right_formulation(right, capsys):
    check_squared_error(right)
    assert "✓ SquaredError" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (loss_variant(forward=keep_and(lambda O, T: sum((o - t) ** 2 for a, b in zip(O, T) for o, t in zip(a, b)) / (len(O) * len(O[0])))),
     ["F.mse_loss", "sums over the 10 outputs"]),
    (loss_variant(forward=keep_and(lambda O, T: sum((o - t) ** 2 for a, b in zip(O, T) for o, t in zip(a, b)))),
     ["division by the batch size m is missing"]),
    (loss_variant(forward=keep_and(lambda O, T: [sum((o - t) ** 2 for o, t in zip(a, b)) for a, b in zip(O, T)])),
     ["Return one number"]),
    (loss_variant(backward=lambda s: [[2 * (o - t) / (len(s.O) * 10) for o, t in zip(a, b)] for a, b in zip(s.O, s.T)]),
     ["F.mse_loss's"]),
    (loss_variant(backward=lambda s: [[2 * (o - t) for o, t in zip(a, b)] for a, b in zip(s.O, s.T)]), ["2/m"]),
    (loss_variant(backward=lambda s: [[(o - t) / len(s.O) for o, t in zip(a, b)] for a, b in zip(s.O, s.T)]),
     ["factor 2 is missing"]),
    (loss_variant(backward=lambda s: [[2 * (t - o) / len(s.O) for o, t in zip(a, b)] for a, b in zip(s.O, s.T)]),
     ["sign is flipped"]),
])
def test_squared_error_refuses_wrong_classes_naming_the_mistake(wrong, words):
    refuses(check_squared_error, wrong, *words)


# ---- SGD --------------------------------------------------------------------------------------

class SGDInPlace:
    def __init__(self, layers, lr):
        self.layers = [layer for layer in layers if hasattr(layer, "W")]
        self.lr = lr

    def step(self):
        for layer in self.layers:
            for w_row, g_row in zip(layer.W, layer.dW):
                w_row[:] = [w - self.lr * g for w, g in zip(w_row, g_row)]
            for j in range(len(layer.b)):
                layer.b[j] -= self.lr * layer.db[j]


class SGDLoops:
    def __init__(self, layers, lr):
        self.layers, self.lr = layers, lr

    def step(self):
        for layer in self.layers:
            if not hasattr(layer, "W"):
                continue
            for i in range(len(layer.W)):
                for j in range(len(layer.W[i])):
                    layer.W[i][j] = layer.W[i][j] - self.lr * layer.dW[i][j]
            layer.b = [b - self.lr * g for b, g in zip(layer.b, layer.db)]


def sgd_variant(step):
    return type("SGDVariant", (plain.SGD,), {"step": step})


def sgd_rebinds(self):
    for layer in self.layers:
        for w_row, g_row in zip(layer.W, layer.dW):
            w_row = [w - self.lr * g for w, g in zip(w_row, g_row)]  # noqa: F841
        layer.b = [b - self.lr * g for b, g in zip(layer.b, layer.db)]


def sgd_weights_only(self):
    for layer in self.layers:
        layer.W = [[w - self.lr * g for w, g in zip(a, b)] for a, b in zip(layer.W, layer.dW)]


def sgd_step_with(update):
    def step(self):
        for layer in self.layers:
            layer.W = [[update(w, g, self.lr) for w, g in zip(a, b)] for a, b in zip(layer.W, layer.dW)]
            layer.b = [update(w, g, self.lr) for w, g in zip(layer.b, layer.db)]
    return step


@pytest.mark.parametrize("right", [plain.SGD, SGDInPlace, SGDLoops])
def test_sgd_accepts_every_right_formulation(right, capsys):
    check_sgd(right)
    assert "✓ SGD" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (sgd_variant(sgd_rebinds), ["did not change", "layer.W"]),
    (sgd_variant(sgd_weights_only), ["update b with db too"]),
    (sgd_variant(sgd_step_with(lambda w, g, lr: w + lr * g)), ["uphill"]),
    (sgd_variant(sgd_step_with(lambda w, g, lr: w - g)), ["learning rate is missing"]),
    (sgd_variant(sgd_step_with(lambda w, g, lr: w - 0.1 * g)), ["use self.lr, not a fixed number"]),
])
def test_sgd_refuses_wrong_optimizers_naming_the_mistake(wrong, words):
    refuses(check_sgd, wrong, *words)


def test_sgd_refuses_an_optimizer_that_touches_layers_without_parameters():
    class EveryLayer(plain.SGD):
        def __init__(self, layers, lr):
            self.layers, self.lr = layers, lr
    refuses(check_sgd, EveryLayer, "AttributeError", "Only the layers with parameters")


# ---- the training loop ------------------------------------------------------------------------

def loop_indexed(layers, loss, optimizer, batches):
    losses = []
    for b in range(len(batches)):
        out = batches[b][0]
        for i in range(len(layers)):
            out = layers[i].forward(out)
        losses.append(loss.forward(out, batches[b][1]))
        grad = loss.backward()
        for i in range(len(layers) - 1, -1, -1):
            grad = layers[i].backward(grad)
        optimizer.step()
    return sum(losses) / len(losses)


def loop_without_step(layers, loss, optimizer, batches):
    total = 0.0
    for X, T in batches:
        for layer in layers:
            X = layer.forward(X)
        total += loss.forward(X, T)
        grad = loss.backward()
        for layer in reversed(layers):
            grad = layer.backward(grad)
    return total / len(batches)


def loop_step_first(layers, loss, optimizer, batches):
    total = 0.0
    for X, T in batches:
        optimizer.step()
        for layer in layers:
            X = layer.forward(X)
        total += loss.forward(X, T)
        grad = loss.backward()
        for layer in reversed(layers):
            grad = layer.backward(grad)
    return total / len(batches)


def loop_step_once(layers, loss, optimizer, batches):
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


def loop_forward_order_backward(layers, loss, optimizer, batches):
    for X, T in batches:
        for layer in layers:
            X = layer.forward(X)
        loss.forward(X, T)
        grad = loss.backward()
        for layer in layers:
            grad = layer.backward(grad)
        optimizer.step()
    return 0.0


def loop_returning(what):
    def loop(layers, loss, optimizer, batches):
        losses = []
        for X, T in batches:
            for layer in layers:
                X = layer.forward(X)
            losses.append(loss.forward(X, T))
            grad = loss.backward()
            for layer in reversed(layers):
                grad = layer.backward(grad)
            optimizer.step()
        return what(losses)
    return loop


def loop_backward_result_dropped(layers, loss, optimizer, batches):
    """layer.backward(grad) without grad = ...: every layer gets the loss's gradient."""
    total = 0.0
    for X, T in batches:
        for layer in layers:
            X = layer.forward(X)
        total += loss.forward(X, T)
        grad = loss.backward()
        for layer in reversed(layers):
            layer.backward(grad)
        optimizer.step()
    return total / len(batches)


def loop_backward_skipping(part):
    """A backward pass over part(layers) only: some layer's backward is never called."""
    def loop(layers, loss, optimizer, batches):
        total = 0.0
        for X, T in batches:
            for layer in layers:
                X = layer.forward(X)
            total += loss.forward(X, T)
            grad = loss.backward()
            for layer in reversed(part(layers)):
                grad = layer.backward(grad)
            optimizer.step()
        return total / len(batches)
    return loop


@pytest.mark.parametrize("right", [plain.train_epoch, loop_indexed])
def test_train_epoch_accepts_every_right_formulation(right, capsys):
    check_train_epoch(right)
    assert "✓ train_epoch" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (loop_without_step, ["did not change", "optimizer.step()"]),
    (loop_step_first, ["stepped before any layer's backward"]),
    (loop_backward_result_dropped, ["layers[0].W is 6 rows of 3 numbers, expected 6 rows of 5",
                                    "grad = layer.backward(grad)"]),
    (loop_backward_skipping(lambda layers: layers[1:]), ["never called the backward of layers[0]",
                                                          "reversed(layers)"]),
    (loop_backward_skipping(lambda layers: layers[:-1]), ["never called the backward of layers[4]",
                                                           "reversed(layers)"]),
    (loop_step_once, ["only the last batch", "step once per batch"]),
    (loop_forward_order_backward, ["reverse order"]),
    (loop_returning(lambda losses: losses[-1]), ["last batch's loss"]),
    (loop_returning(sum), ["sum of the batches' losses"]),
    (loop_returning(lambda losses: 0.25), ["returned 0.25", "expected the mean of the batches' losses"]),
    (loop_returning(lambda losses: None), ["None"]),
])
def test_train_epoch_refuses_wrong_loops_naming_the_mistake(wrong, words):
    refuses(check_train_epoch, wrong, *words)
