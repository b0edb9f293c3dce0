"""The MLP builder used by the exercises, and the sweep helper."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mlp_utils.builders import ACTIVATIONS, INITIALIZATIONS, DeepMLP, count_parameters
from mlp_utils.sweep import SweepResult, grid_settings, sweep, train_mlp
from mlp_utils.train import EpochRecord, History


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
    (dict(hidden_sizes=(0,)), "hidden_sizes"),
    (dict(hidden_sizes=(16,), lr=0), "lr"),
    (dict(hidden_sizes=(16,), activation="swish"), "activation"),
    (dict(hidden_sizes=(16,), init="orthogonal"), "init"),
    (dict(hidden_sizes=(16,), sigma=-1.0), "sigma"),
    (dict(hidden_sizes=(16,), num_outputs=0), "num_outputs"),
])
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DeepMLP(**kwargs)


def test_grid_settings_and_errors():
    assert grid_settings({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    with pytest.raises(ValueError, match="grid\\['a'\\]"):
        grid_settings({"a": []})
    with pytest.raises(ValueError, match="grid\\['a'\\]"):
        grid_settings({"a": "abc"})
    with pytest.raises(ValueError, match="no settings"):
        sweep([], lambda **s: History())


def _history(accs):
    return History([EpochRecord(i + 1, 1.0, 1.0, a, 0.5) for i, a in enumerate(accs)])


def test_sweep_collects_trials_table_best_and_plot():
    calls = []

    def fake_train(width, lr):
        calls.append((width, lr))
        return _history([0.5, width / 1000 + lr]), {"test_acc": width / 2000}

    result = sweep({"width": [100, 300], "lr": [0.1, 0.01]}, fake_train, progress=False)
    assert isinstance(result, SweepResult) and calls == [(100, 0.1), (100, 0.01), (300, 0.1), (300, 0.01)]
    assert result.best().settings == {"width": 300, "lr": 0.1}
    assert result.best("test_acc").settings["width"] == 300
    assert result.column("width") == [100, 100, 300, 300]
    assert result.column("test_acc") == [0.05, 0.05, 0.15, 0.15]
    table = result.table(("val_acc", "test_acc", "seconds")).splitlines()
    assert table[0].split() == ["width", "lr", "val_acc", "test_acc", "seconds"]
    assert len(table) == 5 and table[3].split()[:3] == ["300", "0.1000", "0.4000"]
    fig = result.plot("width", group="lr", logx=True)
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_xscale() == "log"


def test_best_ignores_diverged_runs():
    result = sweep([{"lr": 10.0}, {"lr": 0.1}], lambda lr: _history([] if lr > 1 else [0.8]), progress=False)
    assert math.isnan(result.trials[0].val_acc)
    assert result.best().settings == {"lr": 0.1}


def test_train_mlp_is_seeded_and_learns(small_data):
    model, first = train_mlp(small_data, hidden_sizes=(32,), lr=0.1, epochs=2, init="kaiming", seed=4)
    _, second = train_mlp(small_data, hidden_sizes=(32,), lr=0.1, epochs=2, init="kaiming", seed=4)
    assert isinstance(model, DeepMLP) and len(first) == 2
    assert first.train_loss == second.train_loss
    assert first.final_val_acc > 0.5
