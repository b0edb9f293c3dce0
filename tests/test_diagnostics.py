"""The debugging tools of chapter 8: each one finds the bug it is meant to find, and bad
arguments get clear errors."""
from __future__ import annotations

import math

import matplotlib
import pytest
import torch
from torch.nn import functional as F

matplotlib.use("Agg")

from mlp_utils import MLPScratch, Settings, Trainer, train  # noqa: E402
from mlp_utils.answers import AnswerError, check_dead_fraction  # noqa: E402
from mlp_utils.diagnostics import (ActivationStats, ForgetZeroGrad, OneBatch, StepLog, assert_shape,  # noqa: E402
                                   dead_fraction, examples_touched, expected_initial_loss, initial_loss,
                                   plot_histograms)


@pytest.fixture(scope="module")
def batch(small_data):
    return next(iter(small_data.train_dataloader()))


# --- initial loss ------------------------------------------------------------------------------

def test_expected_initial_loss():
    assert expected_initial_loss(10) == pytest.approx(math.log(10))
    assert expected_initial_loss(1) == 0.0


def test_initial_loss_small_and_large_init(batch):
    X, y = batch
    torch.manual_seed(0)
    assert initial_loss(MLPScratch(784, 10, 64, lr=0.1), X, y) == pytest.approx(math.log(10), abs=0.01)
    assert initial_loss(MLPScratch(784, 10, 64, lr=0.1, sigma=1.0), X, y) > 10


# --- dead fraction -----------------------------------------------------------------------------

def test_dead_fraction():
    H = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert dead_fraction(H) == pytest.approx(2 / 3)
    assert dead_fraction(torch.ones(4, 5)) == 0.0
    assert dead_fraction(torch.relu(-torch.rand(3, 7))) == 1.0


@pytest.mark.parametrize("H", [torch.zeros(5), torch.zeros(2, 3, 4), torch.zeros(0, 3)])
def test_dead_fraction_bad_shape(H):
    with pytest.raises(ValueError, match=r"\(examples, units\) matrix"):
        dead_fraction(H)


# --- the reader's dead_fraction: the check catches each typical mistake -------------------------

def test_check_dead_fraction_accepts_a_right_answer(capsys):
    check_dead_fraction(lambda H: (H == 0).all(dim=0).float().mean())
    check_dead_fraction(lambda H: (H == 0).all(dim=0).float().mean().item())
    assert "✓ dead_fraction" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda H: (H == 0).float().mean(), "zero ENTRIES"),
    (lambda H: (H == 0).all(dim=1).float().mean(), "EXAMPLES"),
    (lambda H: (H == 0).all(dim=0).sum(), "a count of dead units"),
    (lambda H: (H <= 0).all(dim=0).float().mean(), "<= 0"),
    (lambda H: (H == 0).all(dim=0), "return one number"),
    (lambda H: None, "NoneType"),
    (lambda H: 0.3, "exactly 0 in every row"),
])
def test_check_dead_fraction_names_the_mistake(wrong, message):
    with pytest.raises(AnswerError, match=message):
        check_dead_fraction(wrong)


def test_check_dead_fraction_wants_a_function():
    with pytest.raises(TypeError, match="pass your function"):
        check_dead_fraction(0.4)


# --- shapes and batch independence -------------------------------------------------------------

def test_assert_shape():
    t = torch.zeros(4, 3)
    assert assert_shape("t", t, (4, 3)) is t
    assert assert_shape("t", t, (None, 3)) is t
    with pytest.raises(AssertionError, match=r"t: shape \(4, 3\), expected \(any, 4\)"):
        assert_shape("t", t, (None, 4))
    with pytest.raises(AssertionError, match="expected"):
        assert_shape("t", t, (4, 3, 1))
    with pytest.raises(AssertionError, match=r"torch.max\(X, 0\)"):
        assert_shape("H", torch.max(t, 0), (4, 3))


def test_examples_touched_finds_mixing(batch):
    X, _ = batch
    torch.manual_seed(0)
    model = MLPScratch(784, 10, 32, lr=0.1)
    assert examples_touched(model, X[:16], index=3) == [3]
    assert examples_touched(model, X[:16], index=-1) == [15]

    def mixing(X):
        return model(X.reshape(784, -1).T)

    assert len(examples_touched(mixing, X[:16], index=0)) > 1
    with pytest.raises(AssertionError, match="batch dimension was lost"):
        examples_touched(lambda X: model(X).sum(dim=0), X[:16])


# --- one batch, the step log and the zero_grad bug ---------------------------------------------

def test_one_batch_overfits(batch):
    X, y = batch
    torch.manual_seed(0)
    model = MLPScratch(784, 10, 64, lr=0.1)
    log = StepLog()
    history = Trainer(max_epochs=3, callbacks=[log], progress=False).fit(model, OneBatch(X[:32], y[:32], 50))
    assert history.split == "batch" and len(log.losses) == 150 == len(log.grad_norms)
    assert log.losses[-1] < 0.2 < log.losses[0] and history.final_acc == 1.0
    assert all(n > 0 for n in log.grad_norms)


def test_forget_zero_grad_accumulates(batch):
    X, y = batch
    norms = {}
    for name, callbacks in (("correct", []), ("bug", [ForgetZeroGrad()])):
        torch.manual_seed(0)
        log = StepLog()
        Trainer(max_epochs=1, callbacks=[log, *callbacks], progress=False).fit(
            MLPScratch(784, 10, 32, lr=0.01), OneBatch(X[:64], y[:64], 20))
        norms[name] = log.grad_norms
    assert norms["bug"][0] == pytest.approx(norms["correct"][0])  # the first step is the same
    assert norms["bug"][-1] > 5 * norms["correct"][-1]  # then the same batch's gradient adds up


# --- activation statistics ---------------------------------------------------------------------

def test_activation_stats_records_and_plots(small_data):
    stats = {}
    for name, settings in (("healthy", Settings(num_layers=2, num_hiddens=32, activation="tanh", init="xavier")),
                           ("saturated", Settings(num_layers=2, num_hiddens=32, activation="tanh", sigma=1.0))):
        stats[name] = ActivationStats(every=4, bins=20)
        run = train(settings.replace(epochs=1), small_data.view(batch_size=256), seed=0, callbacks=[stats[name]])
    steps = sorted({r.step for r in stats["healthy"].records})
    assert steps == [0, 4]  # 8 steps per epoch, every 4th recorded; evaluation is not
    activations = stats["saturated"].select("activation")
    assert [r.layer for r in activations] == ["layer 1 (Tanh)", "layer 2 (Tanh)"]
    assert [r.layer for r in stats["saturated"].select("gradient")] == ["layer 1 (Tanh)", "layer 2 (Tanh)"]
    assert all(r.saturated > 0.6 for r in activations)
    assert all(r.saturated < 0.4 for r in stats["healthy"].select("activation"))
    r = activations[0]
    assert r.counts.shape == (20,) and r.edges.shape == (21,) and int(r.counts.sum()) == 256 * 32
    assert "layer 1 (Tanh)" in stats["healthy"].table(step=0)
    assert all(not m._forward_hooks for m in run.model.modules())  # hooks removed after fit
    ax = plot_histograms(stats["healthy"], "gradient")
    assert len(ax.lines) == 2
    import matplotlib.pyplot as plt
    plt.close("all")


def test_activation_stats_relu_dead_fraction(batch):
    X, y = batch
    torch.manual_seed(0)
    stats = ActivationStats(every=1)
    model = Settings(num_hiddens=16).build()
    with torch.no_grad():
        model.net[1].bias.fill_(-100.0)  # every unit dead
    Trainer(max_epochs=1, callbacks=[stats], progress=False).fit(model, OneBatch(X[:8], y[:8], 2))
    record = stats.select("activation", step=1)[0]
    assert record.dead == 1.0 and record.saturated == 1.0 and record.std == 0.0


def test_activation_stats_bad_arguments(small_data):
    stats = ActivationStats()
    with pytest.raises(ValueError, match="nothing recorded yet"):
        stats.select()
    with pytest.raises(ValueError, match="kind"):
        stats.select("weights")
    with pytest.raises(ValueError, match="no activation modules"):
        Trainer(max_epochs=1, callbacks=[stats], progress=False).fit(
            Settings(num_layers=0).build(), small_data)


def test_activation_stats_unknown_step(batch):
    X, y = batch
    stats = ActivationStats(every=1)
    Trainer(max_epochs=1, callbacks=[stats], progress=False).fit(Settings(num_hiddens=8).build(), OneBatch(X[:8], y[:8], 2))
    with pytest.raises(ValueError, match=r"recorded steps are \[0, 1\]"):
        stats.select(step=7)


def test_softmax_twice_cannot_overfit_one_batch(batch):
    """The bug chapter 8 shows: the one-batch test fails for it."""
    X, y = batch

    class SoftmaxTwice(MLPScratch):
        def loss(self, logits, y):
            return F.cross_entropy(torch.softmax(logits, dim=1), y)

    torch.manual_seed(0)
    log = StepLog()
    Trainer(max_epochs=2, callbacks=[log], progress=False).fit(SoftmaxTwice(784, 10, 64, lr=0.1),
                                                                OneBatch(X[:32], y[:32], 50))
    assert min(log.losses) > math.log(1 + 9 / math.e)
