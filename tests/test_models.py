"""The from-scratch pieces checked against PyTorch's own, and the models' argument checks."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mlp_utils import MLP, MLPScratch, evaluate, relu


def test_relu_equals_torch_relu():
    X = torch.randn(1000, 37)
    X[0, :5] = torch.tensor([0.0, -0.0, 1e-30, -1e-30, float("inf")])
    assert torch.equal(relu(X), torch.relu(X))


def test_scratch_parameters_shapes_and_init():
    torch.manual_seed(0)
    model = MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=0.1)
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(784, 256), (256,), (256, 10), (10,)]
    assert all(isinstance(p, nn.Parameter) for p in (model.W1, model.b1, model.W2, model.b2))
    assert sum(p.numel() for p in model.parameters()) == 784 * 256 + 256 + 256 * 10 + 10
    assert abs(model.W1.std().item() - 0.01) < 0.0005
    assert torch.count_nonzero(model.b1) == 0 and torch.count_nonzero(model.b2) == 0


def test_scratch_forward_equals_concise_with_copied_weights(small_data):
    torch.manual_seed(0)
    scratch = MLPScratch(784, 10, 256, lr=0.1, sigma=0.1)
    concise = MLP(num_outputs=10, num_hiddens=256, lr=0.1)
    X, _ = next(iter(small_data.train_dataloader()))
    concise(X[:1])  # dry run: the lazy layers take their shapes
    with torch.no_grad():
        concise.net[1].weight.copy_(scratch.W1.T)
        concise.net[1].bias.copy_(scratch.b1)
        concise.net[3].weight.copy_(scratch.W2.T)
        concise.net[3].bias.copy_(scratch.b2)
    assert scratch(X).shape == (len(X), 10)
    torch.testing.assert_close(scratch(X), concise(X), rtol=1e-5, atol=1e-6)


def test_concise_model_is_lazy_until_it_sees_data():
    model = MLP(num_outputs=10, num_hiddens=64, lr=0.1)
    assert isinstance(model.net[1].weight, nn.parameter.UninitializedParameter)
    model(torch.zeros(2, 1, 28, 28))
    assert model.net[1].weight.shape == (64, 784)


def test_evaluate_gives_mean_loss_and_accuracy_over_batches():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
    y = torch.tensor([0, 1, 0, 0])
    batches = [(logits[:3], y[:3]), (logits[3:], y[3:])]  # unequal batches: weighted by size
    loss, acc = evaluate(lambda X: X, batches)
    assert acc == 0.75
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, y).item())
