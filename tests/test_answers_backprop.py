"""The checks of chapter 4's backward fill-ins name each typical wrong gradient and pass the right one.

The set-up is the chapter's: a real Fashion-MNIST batch through the one-hidden-layer ReLU MLP,
differentiated by autograd; each reader's line gets autograd's upstream gradient as input.
"""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from mlp_utils.answers import AnswerError, cmp, cmp_known, cmp_relu_grad, cmp_softmax_ce_grad


@pytest.fixture(scope="module")
def net(data):
    """The chapter's forward pass with autograd gradients of every intermediate value."""
    X, y = next(iter(data.train_dataloader(1)))
    X, y = X[:32].reshape(32, -1).double(), y[:32]
    g = torch.Generator().manual_seed(0)
    W1 = (0.1 * torch.randn(784, 64, generator=g, dtype=torch.float64)).requires_grad_()
    b1 = (0.1 * torch.randn(64, generator=g, dtype=torch.float64)).requires_grad_()
    W2 = (0.1 * torch.randn(64, 10, generator=g, dtype=torch.float64)).requires_grad_()
    b2 = torch.zeros(10, dtype=torch.float64, requires_grad=True)
    Z = X @ W1 + b1
    H = torch.relu(Z)
    O = H @ W2 + b2
    for t in (Z, H, O):
        t.retain_grad()
    F.cross_entropy(O, y).backward()
    return dict(X=X, y=y, W1=W1, b1=b1, W2=W2, b2=b2, Z=Z, H=H, O=O)


def right(n):
    """The solutions of the fill-ins, each from autograd's upstream gradient."""
    O, y, H, Z, X = n["O"].detach(), n["y"], n["H"].detach(), n["Z"].detach(), n["X"]
    dO = (torch.softmax(O, 1) - F.one_hot(y, 10).double()) / len(y)
    return {
        "dO": dO,
        "dW2": H.T @ n["O"].grad, "db2": n["O"].grad.sum(0), "dH": n["O"].grad @ n["W2"].detach().T,
        "dZ": n["H"].grad * (Z > 0), "dW1": X.T @ n["Z"].grad, "db1": n["Z"].grad.sum(0),
    }


def expected(n):
    return {"dO": n["O"].grad, "dW2": n["W2"].grad, "db2": n["b2"].grad, "dH": n["H"].grad,
            "dZ": n["Z"].grad, "dW1": n["W1"].grad, "db1": n["b1"].grad}


def test_the_right_answers_pass(net, capsys):
    answers, reference = right(net), expected(net)
    for name in ("dW2", "db2", "dH", "dW1", "db1"):
        cmp(name, answers[name], reference[name])
    cmp_softmax_ce_grad("dO", answers["dO"], net["O"], net["y"], reference["dO"])
    cmp_relu_grad("dZ", answers["dZ"], net["H"].grad, net["Z"], reference["dZ"])
    out = capsys.readouterr().out
    assert out.count("✓") == 7


def test_the_gradients_are_not_vanishingly_small(net):
    """Otherwise cmp's absolute tolerance would let a wrong sign through."""
    for name, grad in expected(net).items():
        assert grad.abs().max() > 1e-3, name


@pytest.mark.parametrize("mistake, words", [
    ("no_batch", "times 32"),
    ("sign", "wrong sign"),
    ("no_onehot", "one-hot"),
    ("dim0", "dim=0"),
    ("logits", "instead of their softmax"),
])
def test_dO_mistakes_are_named(net, mistake, words):
    O, y = net["O"].detach(), net["y"]
    T = F.one_hot(y, 10).double()
    wrong = {
        "no_batch": torch.softmax(O, 1) - T,
        "sign": (T - torch.softmax(O, 1)) / 32,
        "no_onehot": torch.softmax(O, 1) / 32,
        "dim0": (torch.softmax(O, 0) - T) / 32,
        "logits": (O - T) / 32,
    }[mistake]
    with pytest.raises(AnswerError, match=words):
        cmp_softmax_ce_grad("dO", wrong, net["O"], y, net["O"].grad)


def test_dO_missing_batch_division_names_the_batch_size(net):
    O, y = net["O"].detach(), net["y"]
    with pytest.raises(AnswerError, match="division by the batch size"):
        cmp_softmax_ce_grad("dO", torch.softmax(O, 1) - F.one_hot(y, 10).double(), net["O"], y, net["O"].grad)


@pytest.mark.parametrize("name, make_wrong, words", [
    ("dW2", lambda n: (n["H"].detach().T @ n["O"].grad).T, "transpose"),
    ("dW2", lambda n: -(n["H"].detach().T @ n["O"].grad), "wrong sign"),
    ("dW2", lambda n: n["H"].detach().T @ n["O"].grad / 32, "1/32"),
    ("db2", lambda n: n["O"].grad.sum(1), "shape"),
    ("db2", lambda n: n["O"].grad.mean(0), "1/32"),
    ("dH", lambda n: -(n["O"].grad @ n["W2"].detach().T), "wrong sign"),
    ("dW1", lambda n: (n["X"].T @ n["Z"].grad).T, "transpose"),
    ("dW1", lambda n: n["X"].T @ n["Z"].grad * 32, "32"),
    ("db1", lambda n: -n["Z"].grad.sum(0), "wrong sign"),
])
def test_linear_layer_mistakes_are_named(net, name, make_wrong, words):
    with pytest.raises(AnswerError, match=words):
        cmp(name, make_wrong(net), expected(net)[name])


@pytest.mark.parametrize("make_wrong, words", [
    (lambda dH, Z: dH * torch.relu(Z), "multiplied dH by H"),
    (lambda dH, Z: dH, "unchanged"),
    (lambda dH, Z: dH * (Z <= 0), "inverted"),
    (lambda dH, Z: dH * Z, "pre-activation"),
    (lambda dH, Z: -dH * (Z > 0), "wrong sign"),
])
def test_dZ_mistakes_are_named(net, make_wrong, words):
    dH, Z = net["H"].grad, net["Z"].detach()
    with pytest.raises(AnswerError, match=words):
        cmp_relu_grad("dZ", make_wrong(dH, Z), dH, net["Z"], net["Z"].grad)


def test_cmp_known_ignores_a_mistake_that_equals_the_reference(capsys):
    reference = torch.tensor([1.0, 2.0])
    cmp_known("x", reference.clone(), reference, {"never shown": reference.clone()})
    assert "✓ x" in capsys.readouterr().out


def test_cmp_known_falls_back_to_cmp():
    with pytest.raises(AnswerError, match="shape"):
        cmp_known("x", torch.zeros(3), torch.zeros(2), {"other": torch.ones(2)})
