"""The fill-in checks of chapters 1, 2, 3, 5 and 6: each passes the right answer and names a
typical wrong one."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mlp_utils import relu as reference_relu
from mlp_utils.answers import (AnswerError, check_mlp_net, check_parameters, check_sgd_step, class_means,
                               cmp)

# ----------------------------------------------------------------------------- chapter 1


def loop_means(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.stack([X[y == c].reshape(-1, 784).mean(dim=0) for c in range(10)])


def test_class_means_matches_a_loop(data) -> None:
    X, y = data.X_train[:3000], data.y_train[:3000]
    means = class_means(X, y)
    assert means.shape == (10, 784)
    assert torch.allclose(means, loop_means(X, y), atol=1e-6)


def test_chapter1_fill_in(data, capsys) -> None:
    X, y = data.X_train[:3000], data.y_train[:3000]
    expected = class_means(X, y)
    cmp("class_means", loop_means(X, y), expected)
    assert "✓ class_means" in capsys.readouterr().out
    unflattened = torch.stack([X[y == c].mean(dim=0) for c in range(10)])  # (10, 1, 28, 28)
    with pytest.raises(AnswerError, match="reshape with the batch dimension first"):
        cmp("class_means", unflattened, expected)
    with pytest.raises(AnswerError, match="Dimension 0 is missing"):
        cmp("class_means", X.reshape(-1, 784).mean(dim=0), expected)  # averaged over every image
    sums = torch.stack([X[y == c].reshape(-1, 784).sum(dim=0) for c in range(10)])
    with pytest.raises(AnswerError, match="entries differ"):
        cmp("class_means", sums, expected)  # a sum, not a mean


# ----------------------------------------------------------------------------- chapter 2

SIZES = (784, 256, 10, 0.01)


def init_params(num_inputs=784, num_hiddens=256, num_outputs=10, sigma=0.01, *, std=None, draw=torch.randn,
                transpose_w1=False, bias=torch.zeros, wrap=nn.Parameter):
    std = sigma if std is None else std
    W1 = draw(num_inputs, num_hiddens) * std
    if transpose_w1:
        W1 = W1.T.contiguous()
    return [wrap(W1), wrap(bias(num_hiddens)), wrap(draw(num_hiddens, num_outputs) * std),
            wrap(bias(num_outputs))]


def test_check_parameters_passes_the_right_answer(capsys) -> None:
    check_parameters(init_params(), *SIZES)
    assert "✓ parameters" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda: init_params(std=0.01 ** 2), "sigma\\^2 = 0.0001 as the standard deviation"),
    (lambda: init_params(std=1.0), "forget to multiply"),
    (lambda: init_params(draw=torch.rand), "torch.rand, uniform on \\[0, 1\\), instead of torch.randn"),
    (lambda: init_params(transpose_w1=True), "W1: shape \\(256, 784\\).*transpose"),
    (lambda: init_params(bias=torch.randn), "b1: .* not zero"),
    (lambda: init_params(wrap=lambda t: t), "not an nn.Parameter"),
    (lambda: init_params(wrap=lambda t: nn.Parameter(t, requires_grad=False)), "requires_grad is False"),
    (lambda: init_params(wrap=lambda t: nn.Parameter(t.double())), "dtype torch.float64"),
    (lambda: init_params()[:3], "expected four tensors"),
    (lambda: [init_params()[i] for i in (0, 2, 1, 3)], "order is not"),
    (lambda: init_params(draw=torch.zeros), "all hidden units would compute the same"),
    (lambda: init_params(draw=lambda *s: torch.randn(*s) + 1), "mean .* expected about 0"),
    (lambda: None, "forget a `return`"),
])
def test_check_parameters_names_the_mistake(wrong, message) -> None:
    with pytest.raises(AnswerError, match=message):
        check_parameters(wrong(), *SIZES)


def drawing(w1, w2=None):
    """init_params with the weights drawn by ``w1(rows, cols, sigma)`` (and ``w2``, default the same)."""
    w2 = w1 if w2 is None else w2

    def init(num_inputs, num_hiddens, num_outputs, sigma):
        return [nn.Parameter(w1(num_inputs, num_hiddens, sigma)), nn.Parameter(torch.zeros(num_hiddens)),
                nn.Parameter(w2(num_hiddens, num_outputs, sigma)), nn.Parameter(torch.zeros(num_outputs))]
    return init


@pytest.mark.parametrize("right", [
    drawing(lambda a, b, s: torch.randn(a, b) * s),
    drawing(lambda a, b, s: s * torch.randn(a, b)),
    drawing(lambda a, b, s: torch.normal(0.0, s, size=(a, b))),
    drawing(lambda a, b, s: nn.init.normal_(torch.empty(a, b), mean=0.0, std=s)),
    drawing(lambda a, b, s: torch.empty(a, b).normal_(0, s)),
    drawing(lambda a, b, s: torch.randn(b, a).T * s),  # drawn transposed, then turned: still independent draws
])
def test_check_parameters_accepts_every_right_function(right, capsys) -> None:
    check_parameters(right, *SIZES)
    out = capsys.readouterr().out
    assert "✓ parameters" in out and "the same for sizes (196, 64, 40) and sigma 0.03" in out, out


@pytest.mark.parametrize("wrong, message", [
    # sizes typed in: right for 784-256-10 only
    (drawing(lambda a, b, s: torch.randn(784, 256) * 0.01, lambda a, b, s: torch.randn(256, 10) * 0.01),
     "right for sizes \\(784, 256, 10\\).*not for sizes \\(196, 64, 40\\).*from the arguments.*W1: shape \\(784, 256\\)"),
    # sigma typed in: right for 0.01 only
    (drawing(lambda a, b, s: torch.randn(a, b) * 0.01),
     "not for sizes \\(196, 64, 40\\) and sigma 0.03.*scale by the argument sigma.*expected sigma = 0.03"),
    # one column repeated: every hidden unit starts with the same weights
    (drawing(lambda a, b, s: (torch.randn(a, 1) * s).repeat(1, b), lambda a, b, s: torch.randn(a, b) * s),
     "W1: columns 0 and 1 are equal: hidden units 0 and 1 receive the same weights.*draw every entry on its own"),
    (drawing(lambda a, b, s: (torch.randn(1, b) * s).expand(a, b).clone()), "W1: rows 0 and 1 are equal"),
    # the right spread, the wrong distribution
    (drawing(lambda a, b, s: (torch.rand(a, b) * 2 - 1) * s * math.sqrt(3)),
     "W1: 57.*% of the entries lie within one standard deviation.*normal distribution put 68.3%.*uniform.*torch.randn"),
    (drawing(lambda a, b, s: torch.sign(torch.randn(a, b)) * s), "only 2 distinct values.*torch.randn"),
    (drawing(lambda a, b, s: torch.distributions.Laplace(0.0, s / math.sqrt(2)).sample((a, b))),
     "W1: 7.*% of the entries lie within one standard deviation.*heavy tails"),
    # a standard deviation 9% off
    (drawing(lambda a, b, s: torch.randn(a, b) * s * 1.09), "W1: standard deviation 0.01.*expected sigma = 0.01"),
    (drawing(lambda a, b, s: torch.randn(a, b) * s * 0.91), "W1: standard deviation 0.009.*expected sigma = 0.01"),
])
def test_check_parameters_refuses_wrong_functions(wrong, message) -> None:
    with pytest.raises(AnswerError, match=message):
        check_parameters(wrong, *SIZES)


def test_check_parameters_is_reliable_both_ways(capsys) -> None:
    """Over 20 seeds the right draw always passes and a standard deviation 9% off always fails."""
    right = drawing(lambda a, b, s: torch.randn(a, b) * s)
    off = drawing(lambda a, b, s: torch.randn(a, b) * s * 1.09)
    for seed in range(20):
        torch.manual_seed(seed)
        check_parameters(right, *SIZES)
        with pytest.raises(AnswerError, match="standard deviation"):
            check_parameters(off, *SIZES)
    assert capsys.readouterr().out.count("✓ parameters") == 20


def test_check_parameters_tolerances_fail_a_true_normal_rarely() -> None:
    """Each test allows 6 standard errors: a true normal draw fails one with probability 2 Phi(-6) = 2e-9.
    The standard error of the fraction within one sample standard deviation, sqrt(0.0995 / n) (delta
    method), agrees with a simulation."""
    from mlp_utils.answers import chapters

    assert chapters._PARAMS_Z == 6 and math.erfc(6 / math.sqrt(2)) < 2e-9
    n = 2560
    draws = torch.randn(2000, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    within = ((draws - draws.mean(1, keepdim=True)).abs() < draws.std(1, keepdim=True)).double().mean(1)
    assert abs(within.mean().item() - chapters._NORMAL_WITHIN_ONE_STD) < 3e-4
    assert abs(within.std().item() / math.sqrt(chapters._WITHIN_ONE_STD_VARIANCE / n) - 1) < 0.1


def test_check_parameters_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="num_hiddens must be an integer"):
        check_parameters(init_params(), 784, 0, 10, 0.01)
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        check_parameters(init_params(), 784, 256, 10, -1.0)


# ----------------------------------------------------------------------------- chapter 3

def test_chapter3_relu_fill_in(capsys) -> None:
    Z = torch.randn(1000, 256)
    cmp("relu", Z.clamp(min=0), reference_relu(Z))
    assert "✓ relu" in capsys.readouterr().out
    with pytest.raises(AnswerError, match="reduction such as torch.max"):
        cmp("relu", torch.max(Z, 0), reference_relu(Z))
    with pytest.raises(AnswerError, match="Dimension 0 is missing"):
        cmp("relu", torch.max(Z, dim=0).values, reference_relu(Z))
    with pytest.raises(AnswerError, match="entries differ"):
        cmp("relu", Z.clamp(max=0), reference_relu(Z))  # kept the negative part


def test_chapter3_flatten_fill_in(data, capsys) -> None:
    X = data.X_train[:256]
    expected = torch.flatten(X, start_dim=1)
    cmp("flatten", X.reshape(-1, 784), expected, exact=True)
    assert "✓ flatten" in capsys.readouterr().out
    with pytest.raises(AnswerError, match="reshape with the batch dimension first"):
        cmp("flatten", X.reshape(-1), expected, exact=True)
    with pytest.raises(AnswerError, match="transpose"):
        cmp("flatten", X.reshape(784, -1), expected, exact=True)
    with pytest.raises(AnswerError, match="entries differ"):
        cmp("flatten", X.transpose(2, 3).reshape(-1, 784), expected, exact=True)  # read column by column


# ----------------------------------------------------------------------------- chapter 5

def sgd_right(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()


def sgd_set_to_none(params, lr):
    with torch.no_grad():
        for p in params:
            p.sub_(lr * p.grad)
            p.grad = None


def sgd_no_zero(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad


def sgd_wrong_sign(params, lr):
    with torch.no_grad():
        for p in params:
            p += lr * p.grad
            p.grad.zero_()


def sgd_no_lr(params, lr):
    with torch.no_grad():
        for p in params:
            p -= p.grad
            p.grad.zero_()


def sgd_rebind(params, lr):
    for p in params:
        p = p - lr * p.grad  # noqa: F841 (the mistake under test)


def sgd_zero_first(params, lr):
    with torch.no_grad():
        for p in params:
            p.grad.zero_()
            p -= lr * p.grad


def sgd_no_no_grad(params, lr):
    for p in params:
        p -= lr * p.grad


def sgd_half_lr(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr / 2 * p.grad
            p.grad.zero_()


@pytest.mark.parametrize("right", [sgd_right, sgd_set_to_none])
def test_check_sgd_step_passes_right_answers(right, capsys) -> None:
    check_sgd_step(right)
    assert "✓ sgd_step" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (sgd_no_zero, "forgot zero_grad"),
    (sgd_wrong_sign, "subtracted the gradient with the wrong sign"),
    (sgd_no_lr, "forgot the learning rate"),
    (sgd_rebind, "only gives the loop variable a new tensor"),
    (sgd_zero_first, "zero the gradients before using them"),
    (sgd_no_no_grad, "torch.no_grad"),
    (sgd_half_lr, "times 0.5"),
])
def test_check_sgd_step_names_the_mistake(wrong, message) -> None:
    with pytest.raises(AnswerError, match=message):
        check_sgd_step(wrong)


def test_check_sgd_step_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="pass your function itself"):
        check_sgd_step(None)
    with pytest.raises(ValueError, match="lr must be"):
        check_sgd_step(sgd_right, lr=0)


# ----------------------------------------------------------------------------- chapter 6

@pytest.fixture
def batch(data) -> torch.Tensor:
    return data.X_train[:64]


def test_check_mlp_net_passes_the_right_answer(batch, capsys) -> None:
    check_mlp_net(nn.Sequential(nn.Flatten(), nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10)), batch)
    check_mlp_net(nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)), batch)
    assert capsys.readouterr().out.count("✓ net") == 2


@pytest.mark.parametrize("wrong, message", [
    (lambda: nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10)), "no nn.Flatten"),
    (lambda: nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)), "no nn.Flatten"),
    (lambda: nn.Sequential(nn.Flatten(), nn.LazyLinear(256), nn.LazyLinear(10)), "your network is linear"),
    (lambda: nn.Sequential(nn.Flatten(), nn.LazyLinear(256), nn.ReLU()), "output layer is missing"),
    (lambda: nn.Sequential(nn.Flatten(), nn.LazyLinear(128), nn.ReLU(), nn.LazyLinear(10)), "parameters, expected 203,530"),
    (lambda: nn.Sequential(nn.Flatten(), nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10), nn.Softmax(dim=1)),
     "cross_entropy applies the softmax"),
    (lambda: nn.Sequential(nn.Flatten(), nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10), nn.ReLU()),
     "last layer is ReLU"),
    (lambda: None, "forget a `return`"),
    (lambda: [nn.Flatten(), nn.LazyLinear(256)], "expected an nn.Module"),
])
def test_check_mlp_net_names_the_mistake(wrong, message, batch) -> None:
    with pytest.raises(AnswerError, match=message):
        check_mlp_net(wrong(), batch)


def test_check_mlp_net_tries_a_builder_with_other_sizes(batch, capsys) -> None:
    check_mlp_net(lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(h), nn.ReLU(), nn.LazyLinear(o)), batch)
    assert "the same for build_net(32, 7)" in capsys.readouterr().out
    with pytest.raises(AnswerError, match="right for build_net\\(256, 10\\) but not for build_net\\(32, 7\\).*"
                                          "from the arguments num_hiddens and num_outputs"):
        check_mlp_net(lambda h, o: nn.Sequential(nn.Flatten(), nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10)),
                      batch)


def test_check_mlp_net_rejects_a_bad_batch() -> None:
    with pytest.raises(ValueError, match="batch of at least 2 images"):
        check_mlp_net(nn.Flatten(), torch.zeros(784))


# ---- chapter 9: cache_bytes ----

def _cache_bytes(sizes, B):
    return 4 * B * (sum(sizes[:-1]) + sizes[-1])


def test_check_cache_bytes_passes_the_right_count(capsys):
    from mlp_utils.answers import check_cache_bytes
    from mlp_utils.answers.chapters import _cache_bytes as reference

    assert reference([784, 256, 10], 256) == 4 * 256 * (784 + 256 + 10)
    check_cache_bytes(reference)
    assert "✓ cache_bytes" in capsys.readouterr().out


def test_cache_bytes_reference_is_what_manual_mlp_keeps():
    # the check's formula against an independent count: the bytes of the tensors ManualMLP's
    # forward pass caches (on the meta device: shapes and dtypes, no memory)
    from mlp_utils.answers.chapters import _CACHE_CASES, _cache_bytes
    from mlp_utils.backprop import ManualMLP

    for sizes, B in _CACHE_CASES:
        net = ManualMLP(list(sizes), device="meta")
        _, cache = net.forward_with_cache(torch.empty(B, sizes[0], device="meta"))
        assert _cache_bytes(sizes, B) == cache.nbytes() == sum(t.numel() * t.element_size() for t in cache.tensors())


@pytest.mark.parametrize("wrong, words", [
    (lambda s, B: B * (sum(s[:-1]) + s[-1]), "not bytes"),
    (lambda s, B: 4 * B * sum(s[:-1]), "logits"),
    (lambda s, B: 4 * B * sum(s[1:]), "input X"),
    (lambda s, B: 4 * B * (sum(s[:-1]) + s[-1] + sum(s[1:-1])), "pre-activations"),
    (lambda s, B: 4 * sum((a + 1) * c for a, c in zip(s[:-1], s[1:])), "weights and biases"),
    (lambda s, B: "many", "number of bytes"),
    (lambda s, B: 8 * B * (sum(s[:-1]) + s[-1]), "float64"),
    (lambda s, B: B * (sum(s[:-1]) + s[-1]) * torch.tensor(0.0, dtype=torch.float64).element_size(), "4 bytes each"),
    (lambda s, B: 4 * B * (sum(s[:-1]) + s[-1]) + 8 * B, "also counted the labels"),
    (lambda s, B: 4 * B * (sum(s[:-1]) + s[-1] + 1), "labels, and as float32"),
])
def test_check_cache_bytes_names_the_mistake(wrong, words):
    from mlp_utils.answers import AnswerError, check_cache_bytes

    with pytest.raises(AnswerError, match=words):
        check_cache_bytes(wrong)
