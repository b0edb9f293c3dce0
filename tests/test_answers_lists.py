"""Lists of right and wrong answers for the fill-in checks, beyond each check's own tests.

Every right answer here must pass (printing a tick), every wrong one must raise an AnswerError
whose message names the mistake and points at the right fix (never at a wrong one).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from mlp_utils import cmp
from mlp_utils.answers import (AnswerError, check_failed, check_mlp_builder, check_mlp_net,
                               check_parameter_count, check_sgd_step)

X = torch.randn(256, 1, 28, 28, generator=torch.Generator().manual_seed(0))


# ---- optimizer step (chapter 5): the learning rate is the argument, not a constant ----------

def sgd_right(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()


def sgd_grad_none(params, lr):
    with torch.no_grad():
        for p in params:
            p.sub_(p.grad, alpha=lr)
            p.grad = None


def sgd_fixed_rate(params, lr):
    with torch.no_grad():
        for p in params:
            p -= 0.1 * p.grad
            p.grad.zero_()


@pytest.mark.parametrize("right", [sgd_right, sgd_grad_none])
def test_sgd_step_accepts_every_right_form(right, capsys):
    check_sgd_step(right)
    assert "✓ sgd_step" in capsys.readouterr().out


def test_sgd_step_refuses_a_hard_coded_rate():
    with pytest.raises(AnswerError, match="use the lr argument"):
        check_sgd_step(sgd_fixed_rate)


# ---- the concise network (chapter 6) ----------------------------------------------------------

class TwoLayers(nn.Module):
    """A hand-written module around two lazy layers, its activation called in forward."""

    def __init__(self, num_hiddens, num_outputs, activation=torch.relu, last=None):
        super().__init__()
        self.hidden, self.output = nn.LazyLinear(num_hiddens), nn.LazyLinear(num_outputs)
        self.activation, self.last = activation, last

    def forward(self, X):
        logits = self.output(self.activation(self.hidden(X.flatten(1))))
        return logits if self.last is None else self.last(logits)


class OwnParameters(nn.Module):
    """The network with its own parameters and no layers at all: judged by what it computes."""

    def __init__(self, num_hiddens, num_outputs, activation=torch.relu):
        super().__init__()
        self.W1 = nn.Parameter(torch.randn(784, num_hiddens) * 0.05)
        self.b1 = nn.Parameter(torch.full((num_hiddens,), 0.01))
        self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * 0.05)
        self.b2 = nn.Parameter(torch.zeros(num_outputs))
        self.activation = activation

    def forward(self, X):
        return self.activation(X.flatten(1) @ self.W1 + self.b1) @ self.W2 + self.b2


@pytest.mark.parametrize("right", [
    lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.ReLU(), nn.LazyLinear(o)),
    lambda h, o: nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.ReLU(), nn.Linear(h, o)),
    lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.LeakyReLU(0.0), nn.LazyLinear(o)),
    lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.ReLU(), nn.LazyLinear(o), nn.Identity()),
    lambda h, o: nn.Sequential(nn.Flatten(), nn.Sequential(nn.LazyLinear(h), nn.ReLU()), nn.LazyLinear(o)),
    lambda h, o: TwoLayers(h, o),
    lambda h, o: TwoLayers(h, o, torch.nn.functional.relu),
    lambda h, o: TwoLayers(h, o, lambda Z: Z.clamp(min=0)),
    lambda h, o: OwnParameters(h, o),
])
def test_concise_net_accepts_right_networks(right, capsys):
    check_mlp_net(right, X)
    assert "✓ net" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.Dropout(0.5), nn.LazyLinear(o)), "linear"),
    (lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.LazyLinear(o)), "linear"),
    (lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.ReLU(), nn.LazyLinear(o), nn.Softmax(1)),
     "cross_entropy applies the softmax"),
    (lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.Sigmoid(), nn.LazyLinear(o)), "uses nn.ReLU"),
    (lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.LeakyReLU(0.1), nn.LazyLinear(o)), "uses nn.ReLU"),
    # an activation called in forward, which no module shows
    (lambda h, o: TwoLayers(h, o, torch.sigmoid), "applies torch.sigmoid, not ReLU.*uses nn.ReLU"),
    (lambda h, o: TwoLayers(h, o, torch.tanh), "applies torch.tanh, not ReLU.*uses nn.ReLU"),
    (lambda h, o: TwoLayers(h, o, torch.abs), "applies torch.abs, not ReLU.*uses nn.ReLU"),
    (lambda h, o: TwoLayers(h, o, torch.nn.functional.gelu), "applies GELU, not ReLU"),
    (lambda h, o: TwoLayers(h, o, last=lambda Z: Z.softmax(dim=1)), "softmax of the logits.*returns logits"),
    (lambda h, o: TwoLayers(h, o, last=torch.relu), "ReLU after the output layer"),
    (lambda h, o: OwnParameters(h, o, torch.sigmoid), "does not scale with its input.*uses nn.ReLU"),
    (lambda h, o: OwnParameters(h, o, torch.tanh), "does not scale with its input.*uses nn.ReLU"),
    (lambda h, o: OwnParameters(h, o, torch.abs), "same output for x and -x.*even.*uses nn.ReLU"),
    # widths typed in: right for (256, 10) only
    (lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10)),
     "not for build_net\\(32, 7\\): take the widths from the arguments"),
    (lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(o)),
     "not for build_net\\(32, 7\\): take the widths from the arguments"),
    # a layer the chapter's network does not have
    (lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.ReLU(), nn.Dropout(0.5), nn.LazyLinear(o)),
     "dropout layer \\(nn.Dropout\\(p=0.5\\)\\); this chapter's network has none.*leave it out"),
])
def test_concise_net_refuses_wrong_networks(wrong, words):
    with pytest.raises(AnswerError, match=words):
        check_mlp_net(wrong, X)


# ---- the MLP builder (exercise 2): any correct structure, no activation-free impostor --------

def builder(layer, activation=nn.ReLU, nested=False):
    def build(hidden_sizes):
        widths = [784, *hidden_sizes, 10]
        blocks = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            linear = layer(a, b)
            last = i == len(widths) - 2
            block = [linear] if last else [linear, activation()]
            blocks.append(nn.Sequential(*block) if nested else block)
        if nested:
            return nn.Sequential(nn.Flatten(), *blocks)
        return nn.Sequential(nn.Flatten(), *[m for block in blocks for m in block])
    return build


class NoActivation(nn.Module):
    def __init__(self, hidden_sizes):
        super().__init__()
        widths = [784, *hidden_sizes, 10]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, X):
        X = X.flatten(1)
        for layer in self.layers:
            X = layer(X)
        return X


@pytest.mark.parametrize("right", [
    builder(nn.Linear),
    builder(lambda a, b: nn.LazyLinear(b)),
    builder(nn.Linear, nested=True),
    builder(nn.Linear, activation=nn.GELU),
])
def test_mlp_builder_accepts_every_right_structure(right, capsys):
    check_mlp_builder(right)
    assert "same layers" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [
    NoActivation,
    builder(nn.Linear, activation=lambda: nn.Dropout(0.2)),
    builder(nn.Linear, activation=nn.Identity),
])
def test_mlp_builder_refuses_networks_without_an_activation(wrong):
    with pytest.raises(AnswerError, match="no activation"):
        check_mlp_builder(wrong)


# ---- numbers: numpy and Python scalars alike ---------------------------------------------------

def test_numpy_scalars_are_numbers(capsys):
    check_parameter_count(lambda h: np.int64(784 * h + h + h * 10 + 10))
    check_failed(lambda losses: np.bool_(not all(math.isfinite(v) for v in losses)
                                         or losses[-1] >= math.log(10)))
    cmp("mean", lambda Z: np.float64(Z.mean().item()), lambda Z: Z.mean().double(), X)
    out = capsys.readouterr().out
    assert out.count("✓") == 3, out


# ---- hints that lead to a right fix ---------------------------------------------------------------

dO = torch.randn(256, 10, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("yours, expected, inputs, words, not_words", [
    # db2 summed over the classes: the hint names the dimension, not a fixed batch size
    (lambda d: d.sum(dim=1), lambda d: d.sum(dim=0), (dO,), "dimension you reduced over", "X.shape[0]"),
    # a keepdim sum: an extra dimension of size 1, not a reshape
    (lambda d: d.sum(dim=0, keepdim=True), lambda d: d.sum(dim=0), (dO,), "keepdim=True", "X.reshape(10"),
    # reshape(784, -1): put the batch first; a .T would mix the images
    (lambda Z: Z.reshape(784, -1), lambda Z: torch.flatten(Z, start_dim=1), (X,), "batch dimension first",
     "(or add .T)"),
])
def test_hints_point_at_the_right_fix(yours, expected, inputs, words, not_words):
    with pytest.raises(AnswerError) as caught:
        cmp("answer", yours, expected, *inputs)
    assert words in str(caught.value) and not_words not in str(caught.value), str(caught.value)


# ---- flatten (chapter 3): any batch size -------------------------------------------------------

@pytest.mark.parametrize("right", [lambda Z: Z.reshape(Z.shape[0], -1), lambda Z: Z.reshape(len(Z), 784),
                                   lambda Z: Z.view(-1, 784), lambda Z: Z.flatten(1)])
def test_flatten_accepts_every_right_form(right, capsys):
    from mlp_utils.answers import check_flatten

    check_flatten(right, X)
    assert "✓ flatten: matches torch.flatten(X, start_dim=1) exactly on batches of 256, 96, 1" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda Z: Z.reshape(256, 784), "last batch of an epoch is smaller"),
    (lambda Z: Z.reshape(784, -1), "batch dimension first"),
    (lambda Z: Z.transpose(2, 3).reshape(len(Z), -1), "entries differ"),
])
def test_flatten_refuses_wrong_forms(wrong, words):
    from mlp_utils.answers import check_flatten

    with pytest.raises(AnswerError) as caught:
        check_flatten(wrong, X)
    assert words in str(caught.value), str(caught.value)
