"""The checks of exercises 6-9 in mlp_utils.answers: each passes the right answer and names the
typical wrong ones."""
import math

import pytest
import torch
from torch import nn

from mlp_utils.answers import (AnswerError, check_derivative, check_gflop_per_s, check_init_std,
                               check_step_flops, kaiming_std, train_step_flops, xavier_std)


def forward(sizes, b):
    return sum(2 * b * i * o for i, o in zip(sizes[:-1], sizes[1:]))


# Exercise 6: FLOP of a training step

def test_step_flops_reference_is_three_forward_passes():
    assert train_step_flops([784, 256, 10], 256) == 3 * 2 * 256 * (784 * 256 + 256 * 10)


def test_step_flops_passes_the_right_answer(capsys):
    check_step_flops(lambda s, b: 3 * forward(s, b))
    assert "✓ train_step_flops" in capsys.readouterr().out


def test_step_flops_accepts_skipping_the_first_input_gradient(capsys):
    check_step_flops(lambda s, b: 3 * forward(s, b) - 2 * b * s[0] * s[1])
    assert "autograd skips" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, named", [
    (lambda s, b: forward(s, b), "forward pass only"),
    (lambda s, b: 2 * forward(s, b), "one backward product"),
    (lambda s, b: 3 * forward(s, b) // 2, "multiply-adds"),
    (lambda s, b: 3 * forward(s, 1), "does not grow with the batch"),
    (lambda s, b: None, "forget a `return`"),
])
def test_step_flops_names_the_mistake(wrong, named):
    with pytest.raises(AnswerError, match=named):
        check_step_flops(wrong)


def test_step_flops_reference_rejects_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        train_step_flops([784, 10], 0)
    with pytest.raises(ValueError, match="at least an input and an output"):
        train_step_flops([784], 1)


# Exercise 7: GFLOP/s of a product

def test_gflop_per_s_passes_the_right_answer(capsys):
    check_gflop_per_s(lambda n, t: 2 * n ** 3 / t / 1e9)
    assert "✓ gflop_per_s" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, named", [
    (lambda n, t: n ** 3 / t / 1e9, "2 FLOP"),
    (lambda n, t: 2 * n ** 3 / t, "FLOP/s; divide by 1e9"),
    (lambda n, t: 2 * n ** 2 / t / 1e9, "2 n\\^2"),
    (lambda n, t: t / (2 * n ** 3 / 1e9), "inverse"),
    (lambda n, t: torch.ones(2), "shape"),
])
def test_gflop_per_s_names_the_mistake(wrong, named):
    with pytest.raises(AnswerError, match=named):
        check_gflop_per_s(wrong)


# Exercise 8: derivatives of activations, against autograd

def test_derivatives_pass_the_right_answers(capsys):
    check_derivative("sigmoid", lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    check_derivative("tanh", lambda x: 1 - torch.tanh(x) ** 2)
    normal = torch.distributions.Normal(0.0, 1.0)
    check_derivative("gelu", lambda x: normal.cdf(x) + x * normal.log_prob(x).exp())
    assert capsys.readouterr().out.count("✓") == 3


@pytest.mark.parametrize("name, wrong, named", [
    ("sigmoid", lambda x: x * (1 - x), "to x itself"),
    ("sigmoid", torch.sigmoid, "activation sigmoid\\(x\\) itself"),
    ("sigmoid", lambda x: -torch.sigmoid(x) * (1 - torch.sigmoid(x)), "wrong sign"),
    ("tanh", lambda x: 1 - torch.tanh(x), "forgot the square"),
    ("tanh", lambda x: 1 - x ** 2, "to x itself"),
    ("gelu", lambda x: torch.distributions.Normal(0.0, 1.0).cdf(x), "product rule"),
    ("tanh", lambda x: torch.max(x, 0), "pair of tensors"),
])
def test_derivatives_name_the_mistake(name, wrong, named):
    with pytest.raises(AnswerError, match=named):
        check_derivative(name, wrong)


def test_derivative_rejects_an_unknown_activation():
    with pytest.raises(ValueError, match="must be one of"):
        check_derivative("softplus", torch.sigmoid)


# Exercise 9: the standard deviations of Kaiming's and Xavier's initializations

def test_init_std_references_match_torch():
    torch.manual_seed(0)
    W = torch.empty(512, 1024)  # nn.Linear's layout: (n_out, n_in)
    nn.init.kaiming_normal_(W, nonlinearity="relu")
    assert W.std().item() == pytest.approx(kaiming_std(1024, 512), rel=0.01)
    nn.init.xavier_normal_(W, gain=nn.init.calculate_gain("relu"))
    assert W.std().item() == pytest.approx(xavier_std(1024, 512, math.sqrt(2)), rel=0.01)


def test_init_std_passes_the_right_answers(capsys):
    check_init_std("kaiming", lambda n_in, n_out: math.sqrt(2 / n_in))
    check_init_std("xavier", lambda n_in, n_out, gain=1.0: gain * math.sqrt(2 / (n_in + n_out)))
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("name, wrong, named", [
    ("kaiming", lambda i, o: 2 / i, "variance"),
    ("kaiming", lambda i, o: math.sqrt(2 / o), "n_out"),
    ("kaiming", lambda i, o: math.sqrt(1 / i), "factor 2"),
    ("kaiming", lambda i, o: math.sqrt(2 / (i + o)), "Xavier"),
    ("xavier", lambda i, o, g=1.0: math.sqrt(2 / (i + o)), "ignored the gain"),
    ("xavier", lambda i, o, g=1.0: g * math.sqrt(2 / (i * o)), "multiplied the fans"),
    ("xavier", lambda i, o, g=1.0: g * g * 2 / (i + o), "variance"),
    ("xavier", lambda i, o, g=1.0: g * math.sqrt(2 / i), "Kaiming"),
    ("kaiming", 0.05, "pass the function itself"),
])
def test_init_std_names_the_mistake(name, wrong, named):
    with pytest.raises(AnswerError, match=named):
        check_init_std(name, wrong)
