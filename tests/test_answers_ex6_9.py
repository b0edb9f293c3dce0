"""The checks of exercises 6-9 in mlp_utils.answers: each passes the right answer and names the
typical wrong ones."""
import math

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from mlp_utils import MLP, ManualMLP, MLPScratch
from mlp_utils.answers import (AnswerError, check_derivative, check_gflop_per_s, check_init_std,
                               check_step_flops, kaiming_std, train_step_flops, xavier_std)


def forward(sizes, b):
    return sum(2 * b * i * o for i, o in zip(sizes[:-1], sizes[1:]))


def first_input(sizes, b):
    """The product dZ_1 @ W_1^T, the gradient of the images, that nobody computes."""
    return 2 * b * sizes[0] * sizes[1]


# Exercise 6: FLOP of a training step

def counted_step(model, X, y):
    """FlopCounterMode's count of one real forward and backward pass of ``model``."""
    with FlopCounterMode(display=False) as counter:
        nn.functional.cross_entropy(model(X), y).backward()
    return counter.get_total_flops()


def sequential(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


@pytest.mark.parametrize("sizes", [[784, 256, 10], [784, 2048, 10], [784, 512, 512, 10],
                                   [100, 30, 20, 5], [784, 10], [784, 64, 64, 64, 64, 10]])
@pytest.mark.parametrize("batch_size", [1, 3, 64, 256])
def test_step_flops_reference_matches_flop_counter(sizes, batch_size):
    torch.manual_seed(0)
    X = torch.randn(batch_size, sizes[0])  # the images: they do not require grad
    y = torch.randint(0, sizes[-1], (batch_size,))
    assert not X.requires_grad
    assert train_step_flops(sizes, batch_size) == counted_step(sequential(sizes), X, y)


def test_step_flops_counts_what_the_course_models_compute():
    """The scratch model, the framework's and backpropagation by hand all do the reference's
    products (FlopCounterMode sees ManualMLP's hand-written matrix products too)."""
    torch.manual_seed(0)
    X, y = torch.randn(256, 1, 28, 28), torch.randint(0, 10, (256,))
    expected = train_step_flops([784, 256, 10], 256)
    for model in (MLPScratch(784, 10, 256, lr=0.1), MLP(10, 256, lr=0.1)):
        with torch.no_grad():
            model(X[:1])  # lazy layers learn their size outside the count
        with FlopCounterMode(display=False) as counter:
            model.loss(model(X), y).backward()
        assert counter.get_total_flops() == expected, type(model).__name__
    manual = ManualMLP([784, 256, 10], activation="relu", sigma=0.01, seed=0, lr=0.1, device="cpu")
    with FlopCounterMode(display=False) as counter:
        manual.loss_and_grads(X, y)
    assert counter.get_total_flops() == expected


def test_step_flops_first_input_gradient_is_what_a_grad_requiring_input_adds():
    """Were the images to require grad, autograd would add exactly the product the count leaves out."""
    sizes, b = [784, 256, 10], 32
    torch.manual_seed(0)
    X, y = torch.randn(b, 784, requires_grad=True), torch.randint(0, 10, (b,))
    assert counted_step(sequential(sizes), X, y) == train_step_flops(sizes, b) + first_input(sizes, b)


def test_step_flops_reference_for_the_course_network():
    # 209 MFLOP for 784-256-10 at batch 256: two forward products, two weight gradients, and the
    # hidden layer's input gradient; not the 312 MFLOP of three forward passes
    assert train_step_flops([784, 256, 10], 256) == 209_453_056
    assert round(3 * forward([784, 256, 10], 256) / 1e6) == 312


def test_step_flops_passes_the_right_answer(capsys):
    check_step_flops(lambda s, b: 3 * forward(s, b) - first_input(s, b))
    assert "✓ train_step_flops: matches the reference" in capsys.readouterr().out


def test_step_flops_names_the_first_input_gradient_and_its_fix(capsys):
    with pytest.raises(AnswerError, match="first layer's input too") as error:
        check_step_flops(lambda s, b: 3 * forward(s, b))
    assert "Count the input gradient only for the layers after the first" in str(error.value)
    check_step_flops(lambda s, b: 3 * forward(s, b) - first_input(s, b))  # the hint's fix passes
    assert "✓ train_step_flops" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, named", [
    (lambda s, b: 3 * forward(s, b), "first layer's input too"),
    (lambda s, b: forward(s, b), "forward pass only"),
    (lambda s, b: 2 * forward(s, b), "the forward pass and the weights' gradients"),
    (lambda s, b: 2 * forward(s, b) - first_input(s, b), "not the weights' gradients"),
    (lambda s, b: (3 * forward(s, b) - first_input(s, b)) // 2, "multiply-adds, not FLOP: every"),
    (lambda s, b: 3 * forward(s, b) // 2, r"multiply-adds, not FLOP \(each"),
    (lambda s, b: forward(s, b) // 2, "forward pass's multiply-adds only"),
    (lambda s, b: 3 * forward(s, 1) - first_input(s, 1), "does not grow with the batch: every"),
    (lambda s, b: 3 * forward(s, 1), r"does not grow with the batch \(multiply"),
    (lambda s, b: forward(s, 1), "forward pass for one example"),
    (lambda s, b: 6 * b * math.prod(s), "multiplied all the layer sizes"),
    (lambda s, b: None, "forget a `return`"),
])
def test_step_flops_names_the_mistake(wrong, named):
    with pytest.raises(AnswerError, match=named):
        check_step_flops(wrong)


def test_step_flops_reports_an_unknown_mistake_with_the_expected_number():
    with pytest.raises(AnswerError, match=r"returned 1, expected 2.09453e\+08"):
        check_step_flops(lambda s, b: 1)


def test_step_flops_reference_rejects_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        train_step_flops([784, 10], 0)
    with pytest.raises(ValueError, match="at least an input and an output"):
        train_step_flops([784], 1)


# Exercise 7: GFLOP/s of a product

def test_gflop_per_s_passes_the_right_answer(capsys):
    check_gflop_per_s(lambda n, t: 2 * n ** 3 / t / 1e9)
    assert "✓ gflop_per_s" in capsys.readouterr().out


@pytest.mark.parametrize("right", [
    lambda n, t: 2 * n * n * n / t * 1e-9,
    lambda n, t: (2 * n ** 3 / 1e9) / t,
    lambda n, t: 2 * n ** 3 / (t * 1e9),
    lambda n, t: torch.tensor(2.0 * n ** 3 / t / 1e9, dtype=torch.float64),
])
def test_gflop_per_s_accepts_every_right_form(right, capsys):
    check_gflop_per_s(right)
    assert "✓ gflop_per_s" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, named", [
    (lambda n, t: n ** 3 / t / 1e9, "2 FLOP"),
    (lambda n, t: 2 * n ** 3 / t, "FLOP/s; divide by 1e9"),
    (lambda n, t: 2 * n ** 2 / t / 1e9, "2 n\\^2"),
    (lambda n, t: t / (2 * n ** 3 / 1e9), "inverse"),
    (lambda n, t: torch.ones(2), "shape"),
    # a GFLOP taken as 10^12 or 10^6 FLOP: the hint names the unit, 1e9
    (lambda n, t: 2 * n ** 3 / t / 1e12, "1000 times too small: a GFLOP is 10\\^9 FLOP, so divide the FLOP per second by 1e9"),
    (lambda n, t: 2 * n ** 3 / t / 1e6, "1000 times too large: a GFLOP is 10\\^9 FLOP, so divide the FLOP per second by 1e9"),
    # the time converted to milliseconds, or taken as milliseconds
    (lambda n, t: 2 * n ** 3 / (t * 1e3) / 1e9, "time in seconds as given"),
    (lambda n, t: 2 * n ** 3 / (t / 1e3) / 1e9, "time in seconds as given"),
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
    ("kaiming", 0.05, "pass your function itself"),
])
def test_init_std_names_the_mistake(name, wrong, named):
    with pytest.raises(AnswerError, match=named):
        check_init_std(name, wrong)
