"""Hand-written backpropagation (mlp_utils.backprop) checked against PyTorch's autograd.

Autograd is the reference throughout, as in micrograd's tests: every local backward, the whole
network's gradients for several depths and activations on real Fashion-MNIST batches, a
finite-difference check, and training step for step next to an autograd-trained twin.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from mlp_utils import MLPScratch, Trainer
from mlp_utils.backprop import (
    _LOSSES,
    ManualMLP,
    linear_backward,
    mse_backward,
    one_hot,
    relu_backward,
    sigmoid_backward,
    sigmoid_mse_backward,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
    squared_error_backward,
    tanh_backward,
)

F64 = torch.float64
squared_error_loss, sigmoid_mse_loss = _LOSSES["squared_error"][0], _LOSSES["sigmoid_mse"][0]
TORCH_ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def close(actual, expected, **kwargs) -> None:
    torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-12, **kwargs)


def first_batch(data, size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = next(iter(data.train_dataloader(1)))
    return (X, y) if size is None else (X[:size], y[:size])


def autograd_loss_and_grads(model: ManualMLP, X: torch.Tensor, y: torch.Tensor
                            ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The reference: the same network written with torch ops, differentiated by autograd."""
    params = [p.detach().clone().requires_grad_() for p in model.params]
    H = X.reshape(len(X), -1).to(params[0].dtype)
    for i in range(0, len(params), 2):
        H = H @ params[i] + params[i + 1]
        if i < len(params) - 2:
            H = TORCH_ACTIVATIONS[model.activation](H)
    loss = F.cross_entropy(H, y)
    loss.backward()
    return loss.detach(), [p.grad for p in params]


# ----------------------------------------------------------------------------------------------
# Local backward functions
# ----------------------------------------------------------------------------------------------

def test_linear_backward_matches_autograd():
    g = torch.Generator().manual_seed(1)
    H = torch.randn(5, 7, dtype=F64, generator=g, requires_grad=True)
    W = torch.randn(7, 3, dtype=F64, generator=g, requires_grad=True)
    b = torch.randn(3, dtype=F64, generator=g, requires_grad=True)
    dZ = torch.randn(5, 3, dtype=F64, generator=g)
    (H @ W + b).backward(dZ)
    dH, dW, db = linear_backward(dZ, H.detach(), W.detach())
    close(dH, H.grad)
    close(dW, W.grad)
    close(db, b.grad)


@pytest.mark.parametrize("name, backward", [
    ("relu", relu_backward), ("sigmoid", sigmoid_backward), ("tanh", tanh_backward)])
def test_activation_backward_matches_autograd(name, backward):
    g = torch.Generator().manual_seed(2)
    Z = (3 * torch.randn(64, 33, dtype=F64, generator=g)).requires_grad_()
    dY = torch.randn(64, 33, dtype=F64, generator=g)
    Y = TORCH_ACTIVATIONS[name](Z)
    Y.backward(dY)
    dZ = backward(dY, Y.detach())
    close(dZ, Z.grad)
    assert not torch.equal(dZ, dY)  # the activation really changed the gradient


def test_softmax_and_cross_entropy_are_stable_and_exact():
    O = torch.tensor([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0], [-800.0, -800.0, -801.0]], dtype=F64)
    close(softmax(O), torch.softmax(O, dim=1))
    for y in ([0, 1, 2], [2, 0, 1]):  # the hardest classes of each row too: log-probabilities near -2000
        y = torch.tensor(y)
        close(softmax_cross_entropy(O, y), F.cross_entropy(O, y))
        assert torch.isfinite(softmax_cross_entropy(O, y))


def test_softmax_cross_entropy_and_its_backward_match_autograd():
    g = torch.Generator().manual_seed(3)
    O = (5 * torch.randn(16, 10, dtype=F64, generator=g))
    O[0, 3] = 500.0  # a huge logit must not overflow
    O.requires_grad_()
    y = torch.randint(0, 10, (16,), generator=g)
    loss = F.cross_entropy(O, y)
    loss.backward()
    close(softmax_cross_entropy(O.detach(), y), loss.detach())
    close(softmax_cross_entropy_backward(O.detach(), y), O.grad)


def test_mse_backward_matches_autograd():
    g = torch.Generator().manual_seed(4)
    O = torch.rand(8, 10, dtype=F64, generator=g, requires_grad=True)
    T = one_hot(torch.randint(0, 10, (8,), generator=g), 10, F64)
    loss = F.mse_loss(O, T)
    loss.backward()
    close(mse_backward(O.detach(), T), O.grad)


def test_one_hot_matches_torch():
    y = torch.tensor([3, 0, 9, 3])
    assert torch.equal(one_hot(y, 10, torch.int64), F.one_hot(y, 10))


# ----------------------------------------------------------------------------------------------
# The whole network
# ----------------------------------------------------------------------------------------------

def test_params_shapes_init_and_determinism():
    model = ManualMLP([784, 256, 128, 10], sigma=0.01, seed=5)
    assert [tuple(p.shape) for p in model.params] == [(784, 256), (256,), (256, 128), (128,), (128, 10), (10,)]
    assert all(not p.requires_grad for p in model.params)
    assert abs(model.params[0].std().item() - 0.01) < 0.0005
    assert all(torch.count_nonzero(b) == 0 for b in model.params[1::2])
    same = ManualMLP([784, 256, 128, 10], sigma=0.01, seed=5)
    other = ManualMLP([784, 256, 128, 10], sigma=0.01, seed=6)
    assert all(torch.equal(a, b) for a, b in zip(model.params, same.params))
    assert not torch.equal(model.params[0], other.params[0])


def test_forward_accepts_images_or_rows_and_predicts(data):
    X, _ = first_batch(data, 32)
    model = ManualMLP([784, 64, 10], sigma=0.1)
    logits = model.forward(X)
    assert logits.shape == (32, 10)
    assert torch.equal(logits, model.forward(X.reshape(32, 784)))
    assert torch.equal(model.predict(X), logits.argmax(dim=1))
    cached_logits, cache = model.forward_with_cache(X)
    assert torch.equal(cached_logits, logits)
    assert [tuple(t.shape) for t in cache.tensors()] == [(32, 784), (32, 64), (32, 10)]
    assert cache.nbytes() == 4 * 32 * (784 + 64 + 10)


def test_loss_equals_torch_cross_entropy(data):
    X, y = first_batch(data)
    model = ManualMLP([784, 256, 10], sigma=0.1, seed=1)
    loss, _ = model.loss_and_grads(X, y)
    W1, b1, W2, b2 = model.params
    expected = F.cross_entropy(torch.relu(X.reshape(-1, 784) @ W1 + b1) @ W2 + b2, y)
    torch.testing.assert_close(torch.as_tensor(loss), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("hidden", [(64,), (64, 32), (64, 48, 32)], ids=["1hidden", "2hidden", "3hidden"])
def test_loss_and_grads_match_autograd(data, activation, hidden):
    X, y = first_batch(data, 128)
    model = ManualMLP([784, *hidden, 10], activation=activation, sigma=0.1, seed=7, dtype=F64)
    loss, grads = model.loss_and_grads(X, y)
    expected_loss, expected_grads = autograd_loss_and_grads(model, X, y)
    close(torch.as_tensor(loss), expected_loss)
    assert len(grads) == len(model.params)
    for grad, expected, p in zip(grads, expected_grads, model.params):
        assert grad.shape == p.shape and not grad.requires_grad
        assert expected.abs().max() > 1e-8  # the check is not vacuous
        close(grad, expected)


def test_a_wrong_gradient_would_be_caught(data):
    """The comparison above can fail: the tanh net's gradients differ from the relu net's."""
    X, y = first_batch(data, 128)
    relu_net = ManualMLP([784, 64, 10], activation="relu", sigma=0.1, dtype=F64)
    tanh_net = ManualMLP([784, 64, 10], activation="tanh", sigma=0.1, dtype=F64)
    _, grads = relu_net.loss_and_grads(X, y)
    _, reference = autograd_loss_and_grads(tanh_net, X, y)
    with pytest.raises(AssertionError):
        close(grads[0], reference[0])


def test_finite_differences(data):
    X, y = first_batch(data, 16)
    model = ManualMLP([784, 20, 12, 10], activation="tanh", sigma=0.2, seed=3, dtype=F64)
    _, grads = model.loss_and_grads(X, y)
    g = torch.Generator().manual_seed(0)
    eps = 1e-6
    for p, grad in zip(model.params, grads):
        for _ in range(3):
            index = tuple(int(torch.randint(0, n, (1,), generator=g)) for n in p.shape)
            original = p[index].item()
            p[index] = original + eps
            plus = softmax_cross_entropy(model.forward(X), y).item()
            p[index] = original - eps
            minus = softmax_cross_entropy(model.forward(X), y).item()
            p[index] = original
            numeric = (plus - minus) / (2 * eps)
            assert math.isclose(grad[index].item(), numeric, rel_tol=1e-5, abs_tol=1e-9), (index, numeric)


@pytest.mark.parametrize("kwargs, word", [
    ({"layer_sizes": [784, 10], "activation": "gelu"}, "activation"),
    ({"layer_sizes": [784, 10], "loss": "hinge"}, "loss"),
])
def test_bad_arguments_raise_value_error(kwargs, word):
    with pytest.raises(ValueError, match=word):
        ManualMLP(**kwargs)


def test_sgd_step_checks_the_number_of_gradients():
    model = ManualMLP([4, 3, 2])
    with pytest.raises(ValueError, match="expected 4 gradients"):
        model.sgd_step([torch.zeros(4, 3)])


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------

def test_training_reduces_the_loss(small_data):
    model = ManualMLP([784, 128, 10], lr=0.1, seed=0)
    records = Trainer(max_epochs=12, progress=False).fit(model, small_data).records  # 192 steps
    assert [r.epoch for r in records] == list(range(1, 13))
    assert records[-1].train_loss < 0.6 * records[0].train_loss
    assert records[-1].eval_acc > 0.7


def test_training_matches_an_autograd_twin_step_for_step(small_data):
    manual = ManualMLP([784, 256, 10], lr=0.1, seed=0)
    initial = [p.clone() for p in manual.params]
    twin = MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=0.1)
    with torch.no_grad():
        for p, q in zip(twin.parameters(), manual.params):
            p.copy_(q)
    optimizer = twin.configure_optimizers()
    batches = [batch for epoch in (1, 2) for batch in small_data.train_dataloader(epoch)][:20]
    for X, y in batches:
        manual_loss = manual.train_step(X, y)
        loss = twin.training_step((X, y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert math.isclose(manual_loss, loss.item(), rel_tol=1e-4)
    for p, q in zip(twin.parameters(), manual.params):
        torch.testing.assert_close(q, p.detach(), rtol=1e-4, atol=1e-6)
    assert all(not torch.allclose(p, q) for p, q in zip(manual.params, initial))  # they moved


# ----------------------------------------------------------------------------------------------
# The squared errors (linear outputs, the blog's; sigmoid outputs, a variant), and the plain loop
# ----------------------------------------------------------------------------------------------

def test_sigmoid_mse_and_its_backward_match_autograd():
    g = torch.Generator().manual_seed(5)
    O = (3 * torch.randn(8, 10, dtype=F64, generator=g)).requires_grad_()
    T = one_hot(torch.randint(0, 10, (8,), generator=g), 10, F64)
    loss = 0.5 * ((torch.sigmoid(O) - T) ** 2).sum(dim=1).mean()
    loss.backward()
    close(sigmoid_mse_loss(O.detach(), T), loss.detach())
    close(sigmoid_mse_backward(O.detach(), T), O.grad)


def test_sigmoid_mse_gradient_vanishes_when_an_output_saturates():
    O = torch.tensor([[-30.0, 0.0]], dtype=F64)  # the true class (0) saturated near 0, wrongly
    T = torch.tensor([[1.0, 0.0]], dtype=F64)
    assert abs(sigmoid_mse_backward(O, T)[0, 0]) < 1e-12
    assert abs(softmax_cross_entropy_backward(O, torch.tensor([0]))[0, 0] + 1) < 1e-12


def test_squared_error_is_the_blogs_loss_and_its_backward_matches_autograd():
    # the blog's loss: sum over the outputs of (y_hat - y)^2, mean over a minibatch of m, gradient 2/m (y_hat - y)
    g = torch.Generator().manual_seed(6)
    O = torch.randn(7, 10, dtype=F64, generator=g).requires_grad_()
    T = one_hot(torch.randint(0, 10, (7,), generator=g), 10, F64)
    loss = F.mse_loss(O, T, reduction="sum") / len(O)
    loss.backward()
    close(squared_error_loss(O.detach(), T), loss.detach())
    close(squared_error_backward(O.detach(), T), O.grad)
    close(squared_error_backward(O.detach(), T), 2 * (O.detach() - T) / 7)
    close(squared_error_loss(O.detach(), T), 10 * F.mse_loss(O.detach(), T))  # ten outputs summed, not averaged


@pytest.mark.parametrize("hidden", [(28, 28), (16,)])
def test_manual_mlp_with_squared_error_has_linear_outputs_and_matches_autograd(data, hidden):
    X, y = first_batch(data, 64)
    model = ManualMLP([784, *hidden, 10], activation="sigmoid", sigma=0.1, seed=3, dtype=F64,
                      loss="squared_error")
    loss, grads = model.loss_and_grads(X, y)
    params = [p.clone().requires_grad_() for p in model.params]
    H = X.reshape(len(X), -1).to(F64)
    for i in range(0, len(params), 2):
        H = H @ params[i] + params[i + 1]
        if i < len(params) - 2:
            H = torch.sigmoid(H)
    reference = F.mse_loss(H, F.one_hot(y, 10).to(F64), reduction="sum") / len(X)  # no sigmoid on H
    reference.backward()
    close(torch.as_tensor(loss), reference.detach())
    close(model.loss(model(X), y), reference.detach())
    for grad, p in zip(grads, params):
        assert p.grad.abs().max() > 1e-8
        close(grad, p.grad)
    assert "squared_error" in repr(model)


@pytest.mark.parametrize("hidden", [(28, 28), (16,)])
def test_manual_mlp_with_sigmoid_mse_matches_autograd(data, hidden):
    X, y = first_batch(data, 64)
    model = ManualMLP([784, *hidden, 10], activation="sigmoid", sigma=0.1, seed=2, dtype=F64,
                      loss="sigmoid_mse")
    loss, grads = model.loss_and_grads(X, y)
    params = [p.clone().requires_grad_() for p in model.params]
    H = X.reshape(len(X), -1).to(F64)
    for i in range(0, len(params), 2):
        H = H @ params[i] + params[i + 1]
        if i < len(params) - 2:
            H = torch.sigmoid(H)
    reference = 0.5 * ((torch.sigmoid(H) - F.one_hot(y, 10).to(F64)) ** 2).sum(dim=1).mean()
    reference.backward()
    close(torch.as_tensor(loss), reference.detach())
    close(model.loss(model(X), y), reference.detach())
    for grad, p in zip(grads, params):
        assert p.grad.abs().max() > 1e-8
        close(grad, p.grad)
    assert "sigmoid_mse" in repr(model)


def test_each_loss_trains_a_manual_mlp(small_data):
    """The steps chapter 4's loop takes (its fit_by_hand is written out in the notebook)."""
    X_test, y_test = small_data.X_test[:500], small_data.y_test[:500]
    for loss, lr in [("cross_entropy", 0.5), ("squared_error", 0.1), ("sigmoid_mse", 3.0)]:
        model = ManualMLP([784, 32, 10], activation="sigmoid", sigma=0.1, seed=0, lr=lr, loss=loss)
        first = None
        for epoch in range(1, 4):
            losses = [model.train_step(X, y) for X, y in small_data.train_dataloader(epoch)]
            first = losses[0] if first is None else first
        accuracy = (model.predict(X_test) == y_test).float().mean().item()
        assert accuracy > 0.5, (loss, accuracy)
        assert losses[-1] < first
