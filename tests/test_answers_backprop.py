"""The checks of chapter 4's backward fill-ins name each typical wrong gradient and pass the right one.

The set-up is the chapter's: a real Fashion-MNIST batch through the one-hidden-layer ReLU MLP,
differentiated by autograd; each reader's line gets autograd's upstream gradient as input.
"""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from mlp_utils.answers import AnswerError, cmp, cmp_relu_grad, cmp_softmax_ce_grad


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


def test_cmp_ignores_a_named_mistake_that_equals_the_reference(capsys):
    reference = torch.tensor([1.0, 2.0])
    cmp("x", reference.clone(), reference, mistakes=[("never shown", reference.clone())])
    assert "✓ x" in capsys.readouterr().out


def test_cmp_names_a_mistake_and_falls_back_to_its_own_report():
    with pytest.raises(AnswerError, match="x: the named one"):
        cmp("x", torch.ones(2), torch.zeros(2), mistakes=[("the named one", torch.ones(2))])
    with pytest.raises(AnswerError, match="shape"):
        cmp("x", torch.zeros(3), torch.zeros(2), mistakes={"other": torch.ones(2)})
    with pytest.raises(AnswerError, match="x: a function of the inputs"):
        cmp("x", lambda a: a + 1, lambda a: a, torch.zeros(2), mistakes=[("a function of the inputs", lambda a: a + 1)])


# ---- the reader's functions: run on the chapter's batch and on a second, smaller one ---------

from mlp_utils.answers.backprop import cmp_linear_grad  # noqa: E402


def onehot_scatter(O, y):
    return torch.zeros_like(O).scatter_(1, y.reshape(-1, 1), 1.0)


@pytest.mark.parametrize("right", [
    lambda O, y: (torch.softmax(O, dim=1) - F.one_hot(y, 10).to(O.dtype)) / O.shape[0],
    lambda O, y: (torch.softmax(O, dim=-1) - F.one_hot(y, O.shape[1])) / len(y),
    lambda O, y: (F.log_softmax(O, dim=1).exp() - onehot_scatter(O, y)).div(len(O)),
    lambda O, y: (torch.exp(O - O.logsumexp(1, keepdim=True)) - F.one_hot(y, 10)) / y.numel(),
])
def test_dO_functions_right_at_both_batch_sizes_pass(net, right, capsys):
    cmp_softmax_ce_grad("dO", right, net["O"], net["y"], net["O"].grad)
    assert "✓ dO" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda O, y: (torch.softmax(O, dim=1) - F.one_hot(y, 10)) / 32, ["divided by 32", "O.shape[0]"]),
    (lambda O, y: (torch.softmax(O, dim=1) - F.one_hot(y, 10)) * 0.03125, ["divided by 32", "O.shape[0]"]),
    (lambda O, y: (torch.softmax(O, dim=1) - F.one_hot(y, 10)).reshape(32, 10) / len(O),
     ["not for a batch of 19", "never by a fixed number"]),
])
def test_dO_functions_with_a_fixed_batch_size_are_refused(net, wrong, words):
    with pytest.raises(AnswerError) as error:
        cmp_softmax_ce_grad("dO", wrong, net["O"], net["y"], net["O"].grad)
    for word in words:
        assert word in str(error.value), f"{word!r} not in: {error.value}"


@pytest.mark.parametrize("right", [
    lambda dH, Z: dH * (Z > 0),
    lambda dH, Z: torch.where(Z > 0, dH, torch.zeros_like(dH)),
    lambda dH, Z: dH.masked_fill(Z <= 0, 0.0),
    lambda dH, Z: dH * torch.heaviside(Z, torch.tensor(0.0, dtype=Z.dtype)),
    lambda dH, Z: dH * (torch.relu(Z) > 0),
])
def test_dZ_functions_right_at_zero_pass(net, right, capsys):
    cmp_relu_grad("dZ", right, net["H"].grad, net["Z"], net["Z"].grad)
    out = capsys.readouterr().out
    assert "✓ dZ" in out and "some entries of Z exactly 0" in out


@pytest.mark.parametrize("wrong", [
    lambda dH, Z: dH * (Z >= 0),
    lambda dH, Z: torch.where(Z >= 0, dH, torch.zeros_like(dH)),
    lambda dH, Z: dH * torch.heaviside(Z, torch.tensor(1.0, dtype=Z.dtype)),
    lambda dH, Z: dH.masked_fill(Z < 0, 0.0),
])
def test_dZ_functions_that_pass_the_gradient_at_zero_are_refused(net, wrong):
    """The chapter's Z has no exact zeros; the second batch has, and relu's slope there is 0."""
    with pytest.raises(AnswerError, match=r"exactly 0.*the mask is Z > 0, not Z >= 0"):
        cmp_relu_grad("dZ", wrong, net["H"].grad, net["Z"], net["Z"].grad)


def test_dZ_functions_are_still_checked_for_the_usual_slips(net):
    with pytest.raises(AnswerError, match="multiplied dH by H"):
        cmp_relu_grad("dZ", lambda dH, Z: dH * torch.relu(Z), net["H"].grad, net["Z"], net["Z"].grad)


LINEAR = {  # name: (wrt, upstream, operand, reference gradient)
    "dW2": ("W", "O", "H", "W2"), "db2": ("b", "O", None, "b2"), "dH": ("H", "O", "W2", "H"),
    "dW1": ("W", "Z", "X", "W1"), "db1": ("b", "Z", None, "b1"),
}


def linear_check(n, name, function):
    wrt, upstream, operand, reference = LINEAR[name]
    operands = () if operand is None else (n[operand].detach(),)
    cmp_linear_grad(name, function, n[reference].grad, n[upstream].grad, *operands, wrt=wrt)


@pytest.mark.parametrize("name, right", [
    ("dW2", lambda dO, H: H.T @ dO),
    ("dW2", lambda dO, H: torch.einsum("bi,bj->ij", H, dO)),
    ("dW2", lambda dO, H: (H[:, :, None] * dO[:, None, :]).sum(dim=0)),
    ("db2", lambda dO: dO.sum(dim=0)),
    ("db2", lambda dO: torch.ones(len(dO), dtype=dO.dtype) @ dO),
    ("db2", lambda dO: dO.T.sum(1)),
    ("dH", lambda dO, W2: dO @ W2.T),
    ("dH", lambda dO, W2: torch.mm(dO, W2.t())),
    ("dW1", lambda dZ, X: X.T @ dZ),
    ("dW1", lambda dZ, X: X.t().mm(dZ)),
    ("db1", lambda dZ: dZ.sum(0)),
    ("db1", lambda dZ: dZ.mean(0) * dZ.shape[0]),
])
def test_linear_functions_right_at_both_batch_sizes_pass(net, name, right, capsys):
    linear_check(net, name, right)
    assert f"✓ {name}" in capsys.readouterr().out


@pytest.mark.parametrize("name, wrong, words", [
    ("db2", lambda dO: torch.ones(32, dtype=dO.dtype) @ dO, ["not for a batch of 19", "RuntimeError", "32"]),
    ("db1", lambda dZ: dZ.mean(0) * 32, ["not for a batch of 19", "never a number such as 32"]),
    ("dW2", lambda dO, H: H.T @ dO / 32 * len(dO), ["not for a batch of 19"]),
    ("dH", lambda dO, W2: (dO @ W2.T).reshape(32, -1), ["not for a batch of 19", "shape (32,"]),
])
def test_linear_functions_with_a_fixed_batch_size_are_refused(net, name, wrong, words):
    with pytest.raises(AnswerError) as error:
        linear_check(net, name, wrong)
    for word in words:
        assert word in str(error.value), f"{word!r} not in: {error.value}"


@pytest.mark.parametrize("name, wrong, words", [
    ("dW2", lambda dO, H: (H.T @ dO).T, ["transpose"]),
    ("db2", lambda dO: dO.mean(0), ["1/32"]),
    ("dH", lambda dO, W2: -(dO @ W2.T), ["wrong sign"]),
])
def test_linear_functions_still_name_the_usual_slips(net, name, wrong, words):
    with pytest.raises(AnswerError) as error:
        linear_check(net, name, wrong)
    for word in words:
        assert word in str(error.value), f"{word!r} not in: {error.value}"


def test_unwritten_functions_say_so_without_raising(net, capsys):
    from mlp_utils.answers import todo

    def stub(*args):
        raise todo("write it")

    cmp_softmax_ce_grad("dO", stub, net["O"], net["y"], net["O"].grad)
    cmp_relu_grad("dZ", stub, net["H"].grad, net["Z"], net["Z"].grad)
    for name in LINEAR:
        linear_check(net, name, stub)
    out = capsys.readouterr().out
    assert out.count("not written yet") == 7 and "✓" not in out
