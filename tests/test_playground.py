"""The 2-D playground: point sets, training through the one Trainer, the unit decomposition,
grids, the explorer, argument errors, and the check of the reader's unit_contributions."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mlp_utils import AnswerError, Trainer, compare, train  # noqa: E402
from mlp_utils.answers import check_unit_contributions  # noqa: E402
from mlp_utils.playground import (BoundarySnapshots, Playground, _boundary_grid, _explorer_figure,  # noqa: E402
                                  grid_points, hidden_layer, _spiral, playground_explorer,
                                  playground_model, plot_contributions, plot_unit_lines, repeat_playground,
                                  _run, unit_contributions)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_points_have_the_promised_shapes_and_are_standardized():
    data = Playground(num_train=120, num_test=80, seed=3, device="cpu")
    assert data.X_train.shape == (120, 2) and data.X_test.shape == (80, 2)
    assert data.X_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    assert set(torch.cat([data.y_train, data.y_test]).tolist()) == {0, 1}
    assert int((torch.cat([data.y_train, data.y_test]) == 0).sum()) == 100  # balanced classes
    assert torch.allclose(data.X_train.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(data.X_train.std(0), torch.ones(2), atol=1e-5)
    assert data.X_test.abs().max() < 2.5  # inside every grid


def test_points_depend_only_on_the_seed():
    a, b, c = (Playground(seed=s, device="cpu") for s in (5, 5, 6))
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.X_train, c.X_train)
    X1, y1 = _spiral(50, seed=1)
    X2, y2 = _spiral(50, seed=1)
    assert torch.equal(X1, X2) and torch.equal(y1, y2) and X1.shape == (50, 2)


def test_the_data_module_serves_full_or_small_batches():
    data = Playground(num_train=100, num_test=40, device="cpu")
    assert len(data.train_dataloader(1)) == 1
    X, y = next(iter(data.train_dataloader(1)))
    assert X.shape == (100, 2) and y.shape == (100,)
    small = data.view(batch_size=32)
    assert len(small.train_dataloader(1)) == 4 and small.X_train is data.X_train
    (X_test, y_test), = list(data.eval_dataloader())
    assert X_test.shape == (40, 2) and data.eval_split == "test"


def test_a_hidden_layer_beats_a_linear_model_on_the_spiral():
    linear = repeat_playground(seeds=[0, 1, 2], num_layers=0, epochs=150)
    hidden = repeat_playground(seeds=[0, 1, 2], num_hiddens=16, num_layers=1, epochs=150)
    assert linear.mean() < 0.8
    assert hidden.mean() > 0.85
    assert compare(hidden, linear).word == "better"


def _trained(num_hiddens=8, num_layers=1, seed=0, epochs=30, data=None, lr=1.0):
    data = Playground(seed=seed) if data is None else data
    model = _run(data, seed, num_hiddens=num_hiddens, num_layers=num_layers, lr=lr, epochs=epochs).model
    with torch.no_grad():
        return model, (model(data.X_test).argmax(dim=1) == data.y_test).float().mean().item()


def test_a_playground_run_is_deterministic_given_the_seed_and_is_the_one_train():
    model_a, acc_a = _trained(num_hiddens=8, num_layers=1, seed=4, epochs=20)
    model_b, acc_b = _trained(num_hiddens=8, num_layers=1, seed=4, epochs=20)
    data = Playground(seed=4)
    settings = _run(data, 4, num_hiddens=8, num_layers=1, epochs=20).settings
    assert (settings.init, settings.batch_size, settings.lr) == ("pytorch", 300, 1.0)
    run = train(settings, data, seed=4)  # the course's one train(): the same model
    assert all(torch.equal(p, q) for p, q in zip(run.model.parameters(), model_a.parameters()))
    with torch.no_grad():
        by_hand = (model_a(data.X_test).argmax(dim=1) == data.y_test).float().mean().item()
    assert acc_a == acc_b == pytest.approx(by_hand)
    assert torch.equal(_boundary_grid(model_a, 20), _boundary_grid(model_b, 20))


def test_the_score_is_the_sum_of_the_units_ramps():
    model, _ = _trained(num_hiddens=8, num_layers=1, seed=0, epochs=30)
    W, b, v, c = hidden_layer(model)
    assert W.shape == (8, 2) and b.shape == v.shape == (8,) and c.dim() == 0
    X = grid_points(30)
    parts = unit_contributions(X, W, b, v)
    assert parts.shape == (900, 8)
    with torch.no_grad():
        logits = model(X)
    assert torch.allclose(parts.sum(dim=1) + c, logits[:, 1] - logits[:, 0], atol=1e-4)
    # each unit is exactly zero on one side of its line
    inactive = (X @ W.T + b) <= 0
    assert torch.all(parts[inactive] == 0)


def test_boundary_grid_is_a_probability_grid():
    torch.manual_seed(0)
    model = playground_model(num_hiddens=4, num_layers=2, activation="tanh")
    grid = _boundary_grid(model, resolution=12)
    assert grid.shape == (12, 12, 2)
    assert torch.allclose(grid.sum(dim=2), torch.ones(12, 12))
    points = grid_points(12)
    assert points.shape == (144, 2) and points[0].tolist() == [-2.5, -2.5] and points[1, 1] == -2.5


def test_snapshots_are_taken_at_the_chosen_epochs():
    data = Playground(num_train=60, num_test=20, device="cpu")
    torch.manual_seed(0)
    snapshots = BoundarySnapshots(data, at=(1, 5), resolution=10)
    Trainer(max_epochs=5, callbacks=[snapshots], progress=False).fit(playground_model(4, 1), data)
    assert sorted(snapshots.snapshots) == [1, 5]
    assert snapshots.snapshots[5][0].shape == (10, 10, 2)
    assert "epoch 5" in snapshots.axes[1].get_title()
    with pytest.raises(ValueError, match="after the last epoch"):
        Trainer(max_epochs=3, callbacks=[BoundarySnapshots(data, at=(4,))], progress=False).fit(
            playground_model(4, 1), data)


def test_figures_of_one_hidden_layer():
    data = Playground(num_train=60, num_test=20, device="cpu")
    model, _ = _trained(num_hiddens=6, num_layers=1, data=data, epochs=10)
    assert len(plot_unit_lines(model, data).axes) == 1
    fig = plot_contributions(model, data, units=[0, 3], resolution=20)
    assert "score" in fig.axes[2].get_title()
    with pytest.raises(ValueError, match="units must list hidden units in 0..5"):
        plot_contributions(model, data, units=[6])


def test_the_explorer_runs_once_and_reruns_with_new_values():
    data = Playground(num_train=80, num_test=40, device="cpu")
    ui = playground_explorer(data, epochs=20)
    ui.retrain()
    assert ui.runs == 1 and len(ui.output.outputs) == 1
    assert "test accuracy" in ui.last_result.axes[0].get_title()
    ui.controls["num_layers"].value, ui.controls["activation"].value = 0, "tanh"
    ui.button.click()
    assert ui.runs == 2 and ui.last_result.axes[0].get_title().startswith("linear")


@pytest.mark.parametrize("call, message", [
    (lambda: Playground(num_train=0), "num_train must be an integer >= 1"),
    (lambda: Playground(noise=-1), "noise must be a finite number >= 0"),
    (lambda: Playground(batch_size=2.5), "batch_size must be an integer >= 1"),
    (lambda: playground_model(num_hiddens=0), "num_hiddens must be an integer >= 1"),
    (lambda: playground_model(num_layers=-1), "num_layers must be an integer >= 0"),
    (lambda: playground_model(activation="swish"), "activation must be one of"),
    (lambda: _run(Playground(num_train=20, num_test=10), 0, epochs=0), "epochs must be an integer >= 1"),
    (lambda: hidden_layer(playground_model(num_layers=2)), "exactly one hidden layer"),
    (lambda: unit_contributions(torch.zeros(3, 2), torch.zeros(4, 3), torch.zeros(4), torch.zeros(4)),
     "X must be"),
    (lambda: unit_contributions(torch.zeros(3, 2), torch.zeros(4, 2), torch.zeros(3), torch.zeros(4)),
     "one entry per hidden unit"),
    (lambda: BoundarySnapshots(Playground(num_train=5, num_test=5), at=()), "at must list"),
])
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------------------------
# The check of the reader's unit_contributions (chapter 7's fill-in)
# ----------------------------------------------------------------------------------------------

@pytest.fixture
def layer():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(50, 2, generator=generator)
    W, b, v = torch.randn(6, 2, generator=generator), torch.randn(6, generator=generator), \
        torch.randn(6, generator=generator)
    return X, W, b, v


def test_the_check_passes_a_right_answer(layer, capsys):
    check_unit_contributions(lambda X, W, b, v: torch.clamp(X @ W.T + b, min=0) * v, *layer)
    assert "✓ unit_contributions" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, named", [
    (lambda X, W, b, v: (X @ W.T + b) * v, "left out the ReLU"),
    (lambda X, W, b, v: torch.relu((X @ W.T + b) * v), "ReLU after multiplying by v_j"),
    (lambda X, W, b, v: torch.relu(X @ W.T) * v, "forgot the hidden bias"),
    (lambda X, W, b, v: torch.relu(X @ W.T + b), "left out the output weights"),
    (lambda X, W, b, v: (torch.relu(X @ W.T + b) * v).sum(dim=1), "Dimension 1 is missing"),
    (lambda X, W, b, v: torch.max(X @ W.T + b, 0), "reduction"),
    (lambda X, W, b, v: None, "returned None"),
])
def test_the_check_names_typical_mistakes(layer, wrong, named):
    with pytest.raises(AnswerError, match=named):
        check_unit_contributions(wrong, *layer)


def test_a_diverging_run_still_reports_an_accuracy():
    data = Playground(num_train=60, num_test=20, device="cpu")
    with pytest.warns(RuntimeWarning, match="training stopped"):
        model, accuracy = _trained(num_hiddens=16, lr=1e6, data=data, epochs=30)
    with torch.no_grad():  # the last finite parameters, measured as they are
        assert all(torch.isfinite(p).all() for p in model.parameters())
        assert accuracy == pytest.approx((model(data.X_test).argmax(dim=1) == data.y_test).float().mean().item())
    with pytest.warns(RuntimeWarning):
        fig = _explorer_figure(data, None, 30, num_hiddens=16, num_layers=1, activation="relu", lr=1e6)
    assert "diverged after" in fig.axes[0].get_title()
