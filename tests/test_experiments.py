"""DeepMLP, and training from settings over seeds: Settings, train, repeat, sweep, compare, check."""
from __future__ import annotations

import math
import statistics

import pytest
import torch
from torch import nn

from mlp_utils.experiments import RULE, Group, Results, Run, Settings, check, compare, repeat, sweep, train, welch
from mlp_utils.models import ACTIVATIONS, INITIALIZATIONS, DeepMLP, count_parameters
from mlp_utils.trainer import Callback, EpochRecord, History


@pytest.mark.parametrize("hidden, expected", [
    ((), 784 * 10 + 10),
    ((256,), 203_530),
    ((256, 128, 100), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 100 + 100 + 100 * 10 + 10),
])
def test_parameter_counts(hidden, expected):
    assert count_parameters(DeepMLP(hidden)) == expected


def test_structure_and_description():
    model = DeepMLP((64, 32), activation="tanh")
    assert [type(m) for m in model.net] == [nn.Flatten, nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert model.describe() == "784-64-32-10 tanh, normal init"
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_builds_and_runs(activation):
    out = DeepMLP((16,), activation=activation)(torch.randn(3, 784))
    assert out.shape == (3, 10) and torch.isfinite(out).all()


def test_initializations():
    torch.manual_seed(0)
    normal = DeepMLP((512,), init="normal", sigma=0.05)
    assert abs(normal.linears[0].weight.std().item() - 0.05) < 0.002
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in normal.linears)
    zeros = DeepMLP((512,), init="zeros")
    assert all(torch.count_nonzero(layer.weight) == 0 for layer in zeros.linears)
    kaiming = DeepMLP((512,), init="kaiming")
    assert abs(kaiming.linears[0].weight.std().item() - math.sqrt(2 / 784)) < 0.002
    xavier = DeepMLP((512,), init="xavier", activation="tanh")
    gain = nn.init.calculate_gain("tanh")
    assert abs(xavier.linears[0].weight.std().item() - gain * math.sqrt(2 / (784 + 512))) < 0.002
    pytorch = DeepMLP((512,), init="pytorch")
    bound = 1 / math.sqrt(784)
    assert pytorch.linears[0].weight.abs().max().item() <= bound
    assert torch.count_nonzero(pytorch.linears[0].bias) > 0
    assert set(INITIALIZATIONS) == {"normal", "zeros", "xavier", "kaiming", "pytorch"}


@pytest.mark.parametrize("kwargs, name", [
    (dict(hidden_sizes=(16,), activation="swish"), "activation"),
    (dict(hidden_sizes=(16,), init="orthogonal"), "init"),
])
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DeepMLP(**kwargs)


@pytest.mark.parametrize("changes, name", [
    (dict(num_hiddens=0), "num_hiddens"),
    (dict(num_layers=-1), "num_layers"),
    (dict(num_layers=1.5), "num_layers"),
    (dict(lr=0.0), "lr"),
    (dict(epochs=0), "epochs"),
    (dict(batch_size=2.5), "batch_size"),
    (dict(activation="swish"), "activation"),
    (dict(init="orthogonal"), "init"),
    (dict(schedule="cosine"), "schedule"),
    (dict(sigma=float("nan")), "sigma"),
    (dict(width=3), "unknown setting"),
])
def test_bad_settings_name_themselves(changes, name):
    with pytest.raises(ValueError, match=name):
        Settings().replace(**changes)


def test_settings_defaults_are_the_reference_run():
    settings = Settings()
    assert (settings.num_hiddens, settings.num_layers, settings.lr, settings.epochs, settings.batch_size,
            settings.sigma, settings.activation) == (256, 1, 0.1, 10, 256, 0.01, "relu")
    assert settings.changed() == {} and str(settings.replace(lr=0.5)) == "lr=0.5"
    assert count_parameters(settings.build()) == 203_530
    assert settings.replace(num_layers=0).build().describe() == "784-10 relu, normal init"


def test_train_is_seeded_and_learns(small_data):
    settings = Settings(num_hiddens=32, epochs=2, init="kaiming")
    first, second = train(settings, small_data, seed=4), train(settings, small_data, seed=4)
    other = train(settings, small_data, seed=5)
    assert isinstance(first, Run) and isinstance(first.model, DeepMLP) and len(first.history) == 2
    assert first.history.train_loss == second.history.train_loss
    assert first.history.train_loss != other.history.train_loss  # another seed, another sample
    assert first.acc > 0.5 and first.history.split == "test"


def test_the_course_seed_shifts_every_default_seed(small_data, monkeypatch):
    settings = Settings(num_hiddens=16, epochs=1)
    monkeypatch.setenv("MLP_COURSE_SEED", "11")
    group = repeat(settings, small_data, seeds=2)
    assert [run.seed for run in group.runs] == [11, 12]
    assert train(settings, small_data).seed == 11
    monkeypatch.setenv("MLP_COURSE_SEED", "eleven")
    with pytest.raises(ValueError, match="MLP_COURSE_SEED"):
        train(settings, small_data)


class _RateRecorder(Callback):
    """The learning rate of every step, as the optimizer used it."""

    def __init__(self):
        self.rates = []

    def on_step_end(self, trainer, loss):
        self.rates.append(trainer.optimizer.param_groups[0]["lr"])


def test_linear_schedule_lowers_the_rate_every_epoch_and_measurements(small_data):
    recorder = _RateRecorder()
    run = train(Settings(num_hiddens=16, epochs=4, lr=0.4, schedule="linear"), small_data, seed=0,
                measure=lambda model: {"params": count_parameters(model)}, callbacks=[recorder])
    assert run.extra == {"params": 784 * 16 + 16 + 16 * 10 + 10}
    steps = len(recorder.rates) // 4
    per_epoch = [recorder.rates[e * steps:(e + 1) * steps] for e in range(4)]
    # constant within an epoch, then 0.4, 0.3, 0.2, 0.1: lr * (1 - e / epochs)
    assert all(len(set(rates)) == 1 for rates in per_epoch)
    assert [rates[0] for rates in per_epoch] == pytest.approx([0.4, 0.3, 0.2, 0.1])
    constant = _RateRecorder()
    train(Settings(num_hiddens=16, epochs=2, lr=0.4), small_data, seed=0, callbacks=[constant])
    assert set(constant.rates) == {0.4}


def _group(accs, **changes):
    runs = [Run(Settings(**changes), seed, None, History("val", [EpochRecord(1, 1.0, 1.0, acc, 0.5)]))
            for seed, acc in enumerate(accs)]
    return Group(Settings(**changes), runs)


def test_compare_follows_the_stated_rule():
    a, b = _group([0.80, 0.81, 0.82]), _group([0.70, 0.71, 0.72])
    assert compare(a, b).word == "better" and compare(b, a).word == "worse"
    noisy = _group([0.70, 0.80, 0.90])
    verdict = compare(noisy, b)  # difference 0.09 against a standard error of 0.058: a tie
    assert verdict.word == "tie" and verdict.p > 0.05
    assert "Welch" in RULE and "95%" in RULE
    assert a.summary() == "0.8100 ± 0.0100 (3 seeds)"


def test_welch_matches_an_independent_computation():
    # Welch's t by hand from the textbook formulas, the quantile from scipy: 3 seeds against 3
    # with equal spreads give the Welch-Satterthwaite dof 4 and a critical value of 2.776.
    a, b = [0.80, 0.81, 0.82], [0.79, 0.80, 0.81]
    verdict = welch(a, b)
    assert verdict.dof == pytest.approx(4.0)
    se = math.sqrt(0.0001 / 3 + 0.0001 / 3)
    assert verdict.margin == pytest.approx(2.7764451 * se, rel=1e-6)
    assert verdict.word == "tie"  # t = 0.01 / 0.0082 = 1.22
    c = [0.8105, 0.8205, 0.8305]  # difference 0.0205 = 2.51 standard errors: > 2, < 2.776
    assert 2 * se < statistics.fmean(c) - statistics.fmean(b) < 2.7764451 * se
    assert welch(c, b).word == "tie"
    d = [0.8150, 0.8250, 0.8350]  # difference 0.025 = 3.06 standard errors: better
    assert welch(d, b).word == "better" and welch(b, d).word == "worse"
    # unequal spreads: dof from the Welch-Satterthwaite formula, written out
    e, f = [0.5, 0.6, 0.7, 0.65], [0.60, 0.61]
    va, vb = statistics.variance(e) / 4, statistics.variance(f) / 2
    assert welch(e, f).dof == pytest.approx((va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 1))
    # no spread at all: the means decide; one seed is refused with a clear message
    assert welch([0.5, 0.5], [0.5, 0.5]).word == "tie" and welch([0.6, 0.6], [0.5, 0.5]).word == "better"
    assert welch([math.nan, 0.5], [0.1, 0.2]).word == "worse" and welch([0.1, 0.2], [0.5, math.nan]).word == "better"
    with pytest.raises(ValueError, match="at least 2"):
        welch([0.5], [0.4, 0.6])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one side without spread: no warning, a verdict
        assert welch([0.1, 0.1, 0.1], [0.7, 0.8, 0.75]).word == "worse"


def test_results_table_best_find_and_plot():
    results = Results([_group([0.5, 0.6, 0.7], lr=0.1, num_hiddens=64), _group([0.8, 0.8, 0.8], lr=0.3, num_hiddens=64),
                       _group([math.nan] * 3, lr=3.0, num_hiddens=64)])
    assert results.varied() == ["lr"] and results.best().settings.lr == 0.3
    assert results.find(lr=0.1).mean() == pytest.approx(0.6)
    with pytest.raises(KeyError, match="exactly one"):
        results.find(num_hiddens=64)
    lines = results.table().splitlines()
    assert lines[0].split() == ["lr", "val", "acc"] and lines[2].split() == ["0.3", "0.8000", "±", "0.0000"]
    fig = results.plot("lr", logx=True)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_ylabel() == "val accuracy"


def test_sweep_trains_every_setting_over_every_seed(small_data):
    results = sweep({"num_hiddens": [8, 16], "lr": [0.1]}, small_data, base=Settings(epochs=1), seeds=[3, 4],
                    progress=False)
    assert [(g.settings.num_hiddens, [r.seed for r in g.runs]) for g in results.groups] == [(8, [3, 4]), (16, [3, 4])]
    with pytest.raises(ValueError, match="grid\\['lr'\\]"):
        sweep({"lr": []}, small_data)


def test_check_prints_a_tick_or_fails_loudly(capsys):
    check(0.85 > 0.8, "the accuracy is above 0.8")
    assert capsys.readouterr().out == "✓ the accuracy is above 0.8\n"
    with pytest.raises(AssertionError, match="do not support it"):
        check(False, "the accuracy is above 0.9")


def test_momentum_reaches_the_optimizer():
    settings = Settings(momentum=0.9, num_layers=2, num_hiddens=16)
    assert settings.build().configure_optimizers().defaults["momentum"] == 0.9
    assert Settings().build().configure_optimizers().defaults["momentum"] == 0
    assert "momentum=0.9" in str(settings)


@pytest.mark.parametrize("value", [1.0, -0.1, "0.9", True])
def test_a_bad_momentum_is_a_clear_error(value):
    with pytest.raises(ValueError, match="momentum"):
        Settings(momentum=value)


def test_a_verdict_prints_a_tiny_p_value_as_below_a_thousandth():
    from mlp_utils.experiments import p_text, welch
    assert p_text(0.0004) == "p < 0.001" and p_text(0.047) == "p = 0.047"
    tiny = welch([0.80, 0.81, 0.80], [0.60, 0.61, 0.60])
    assert tiny.p < 0.001 and str(tiny).endswith("Welch's t-test p < 0.001)")


def test_an_empty_sweep_says_what_to_pass():
    import pytest

    from mlp_utils import sweep
    with pytest.raises(ValueError, match="holds no settings"):
        sweep([], data=None)


def test_an_empty_list_of_seeds_says_what_to_pass():
    import pytest

    from mlp_utils import repeat
    with pytest.raises(ValueError, match="non-empty list"):
        repeat(Settings(), data=None, seeds=[])
