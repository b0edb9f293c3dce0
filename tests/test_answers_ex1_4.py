"""The checks of exercises 1-4 pass the right answer and name each typical wrong one."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mlp_utils.answers import (AnswerError, check_failed, check_firing_fractions, check_mlp_builder,
                               check_parameter_count)


# Exercise 1: parameters of a 784-h-10 MLP -----------------------------------------------------

def test_parameter_count_passes_the_right_formula(capsys):
    def mlp_parameters(h):
        return 784 * h + h + h * 10 + 10
    check_parameter_count(mlp_parameters)
    assert "✓ mlp_parameters" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda h: 784 * h + h * 10, "only the weights"),
    (lambda h: 784 * h + h * 10 + 10, "bias b1"),
    (lambda h: 784 * h + h + h * 10, "bias b2"),
    (lambda h: 784 * h + h, "second layer"),
    (lambda h: 784 * h * 10, "multiplied"),
    (lambda h: 28 * h + h + h * 10 + 10, "28 * 28 = 784"),
    (lambda h: 795 * h + 11, "off by +1"),
    (lambda h: None, "forget a `return`"),
    (lambda h: 795 * h + 10.5, "whole number"),
])
def test_parameter_count_names_the_mistake(wrong, words):
    with pytest.raises(AnswerError, match=words.replace("(", r"\(").replace("*", r"\*").replace("+", r"\+")):
        check_parameter_count(wrong)


def test_parameter_count_wants_the_function():
    with pytest.raises(TypeError, match="pass your function itself"):
        check_parameter_count(203_530)


# Exercise 2: an MLP builder ----------------------------------------------------------------------

def build_mlp(hidden_sizes, activation=nn.ReLU):
    sizes = [784, *hidden_sizes, 10]
    layers = [nn.Flatten()]
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def test_mlp_builder_passes_the_right_builder(capsys):
    check_mlp_builder(build_mlp)
    assert "✓ build_mlp" in capsys.readouterr().out
    check_mlp_builder(lambda sizes: build_mlp(sizes, nn.Tanh))  # any activation will do


def no_activation(hidden_sizes):
    sizes = [784, *hidden_sizes, 10]
    return nn.Sequential(nn.Flatten(), *[nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])


def relu_at_the_end(hidden_sizes):
    return nn.Sequential(*build_mlp(hidden_sizes), nn.ReLU())


def no_flatten(hidden_sizes):
    return nn.Sequential(*list(build_mlp(hidden_sizes))[1:])


def same_width_everywhere(hidden_sizes):
    return build_mlp([hidden_sizes[0]] * len(hidden_sizes) if hidden_sizes else [])


def one_layer_too_few(hidden_sizes):
    return build_mlp(list(hidden_sizes)[:-1]) if hidden_sizes else build_mlp([])


def no_bias(hidden_sizes):
    net = build_mlp(hidden_sizes)
    return nn.Sequential(*[nn.Linear(m.in_features, m.out_features, bias=False) if isinstance(m, nn.Linear)
                           else m for m in net])


@pytest.mark.parametrize("wrong, words", [
    (no_activation, "collapse to one"),
    (relu_at_the_end, "activation follows the last linear layer"),
    (no_flatten, "nn.Flatten"),
    (same_width_everywhere, "linear layer 1 maps 256 -> 256, expected 256 -> 128"),
    (one_layer_too_few, "need 2 linear layers"),
    (no_bias, "keep its bias"),
    (lambda sizes: None, "forget a `return`"),
    (lambda sizes: [nn.Linear(784, 10)], "return the network"),
])
def test_mlp_builder_names_the_mistake(wrong, words):
    with pytest.raises(AnswerError, match=words.replace("(", r"\(")):
        check_mlp_builder(wrong)


# Exercise 3: how often each hidden unit fires ----------------------------------------------------

def firing_fractions(model, X):
    with torch.no_grad():
        z = model.linears[0](X.flatten(1))
    return (z > 0).float().mean(dim=0)


def test_firing_fractions_passes_the_right_answer(capsys, small_data):
    check_firing_fractions(firing_fractions, small_data.X_train)
    assert "✓ firing_fractions" in capsys.readouterr().out


@pytest.mark.parametrize("right", [
    lambda m, X: (m.linears[0](X.flatten(1)) > 0).sum(dim=0) / X.shape[0],
    lambda m, X: torch.relu(m.linears[0](X.reshape(len(X), -1))).sign().mean(dim=0),
    lambda m, X: (m.net[:2](X) > 0).double().mean(0),
    lambda m, X: (m.linears[0](X.flatten(1)) > 0).to(torch.float32).mean(axis=0),
])
def test_firing_fractions_accepts_every_right_form(right, capsys, small_data):
    check_firing_fractions(right, small_data.X_train)
    assert "✓ <lambda>: matches the reference" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda m, X: firing_fractions(m, X).mean(), "a single number"),
    (lambda m, X: (m.linears[0](X.flatten(1)) > 0).float().mean(dim=1), "average over the images, dim=0"),
    (lambda m, X: 1 - firing_fractions(m, X), "silent"),
    (lambda m, X: (m.linears[0](X.flatten(1)) > 0).sum(dim=0), "counts"),
    (lambda m, X: (m(X) > 0).float().mean(dim=0), "output layer"),
    (lambda m, X: (m.linears[0](X.flatten(1)) > 0.01).float().mean(dim=0), "entries differ"),
    # the mean of a boolean tensor: torch refuses it; the hint says how to turn it into numbers
    (lambda m, X: (m.linears[0](X.flatten(1)) > 0).mean(dim=0), r"\(z > 0\)\.float\(\)\.mean\(dim=0\)"),
])
def test_firing_fractions_names_the_mistake(wrong, words, small_data):
    with pytest.raises(AnswerError, match=words):
        check_firing_fractions(wrong, small_data.X_train)


# Exercise 4: did a run fail? ---------------------------------------------------------------------

def failed(losses):
    return not all(math.isfinite(loss) for loss in losses) or losses[-1] >= math.log(10)


def test_failed_passes_the_right_answer(capsys):
    check_failed(failed)
    assert "✓ failed" in capsys.readouterr().out
    check_failed(lambda losses: torch.tensor(failed(losses)))  # a 0-d bool tensor is fine


@pytest.mark.parametrize("wrong, words", [
    (lambda losses: losses[-1] >= math.log(10), "NaN compares False"),
    (lambda losses: max(losses) > math.log(10), "not the largest"),
    (lambda losses: not all(math.isfinite(x) for x in losses), "no better than a uniform guess"),
    (lambda losses: not math.isfinite(losses[-1]) or losses[-1] >= math.log(10), "NaN in the middle"),
    (lambda losses: "diverged", "return True or False"),
])
def test_failed_names_the_mistake(wrong, words):
    with pytest.raises(AnswerError, match=words):
        check_failed(wrong)
