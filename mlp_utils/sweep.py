"""Train a grid of settings and collect the results as a table and a plot."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from tqdm.auto import tqdm

from .builders import DeepMLP
from .checks import check_positive_int
from .notebook import in_notebook
from .train import History, Trainer

__all__ = ["SweepResult", "Trial", "sweep", "train_mlp"]


@dataclass
class Trial:
    """One setting of a sweep and what training with it measured."""

    settings: dict[str, Any]
    history: History
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def val_acc(self) -> float:
        return self.history.final_val_acc

    @property
    def best_val_acc(self) -> float:
        return max(self.history.val_acc, default=math.nan)

    @property
    def seconds(self) -> float:
        return self.history.total_seconds


@dataclass
class SweepResult:
    """All trials of a sweep, in the order they ran."""

    trials: list[Trial]

    def best(self, metric: str = "val_acc") -> Trial:
        """The trial with the highest ``metric`` (ignoring NaN, e.g. diverged runs)."""
        def score(trial: Trial) -> float:
            value = getattr(trial, metric) if hasattr(trial, metric) else trial.extra[metric]
            return -math.inf if math.isnan(value) else value
        return max(self.trials, key=score)

    def column(self, name: str) -> list[Any]:
        """One setting, property or extra measurement across all trials."""
        values = []
        for trial in self.trials:
            if name in trial.settings:
                values.append(trial.settings[name])
            elif name in trial.extra:
                values.append(trial.extra[name])
            else:
                values.append(getattr(trial, name))
        return values

    def table(self, columns: Sequence[str] = ("val_acc", "seconds")) -> str:
        """A fixed-width text table: every setting, then ``columns``, one row per trial."""
        names = list(self.trials[0].settings) + [c for c in columns if c not in self.trials[0].settings]
        rows = [[_fmt(v) for v in self.column_row(trial, names)] for trial in self.trials]
        widths = [max(len(n), *(len(r[i]) for r in rows)) for i, n in enumerate(names)]
        lines = ["  ".join(n.rjust(w) for n, w in zip(names, widths))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
        return "\n".join(lines)

    @staticmethod
    def column_row(trial: Trial, names: Sequence[str]) -> list[Any]:
        return [trial.settings.get(n, trial.extra.get(n, getattr(trial, n, None))) for n in names]

    def plot(self, x: str, y: str = "val_acc", group: str | None = None, logx: bool = False,
             ax: plt.Axes | None = None, title: str = "") -> plt.Figure:
        """Plot ``y`` against the setting ``x``, one line per value of ``group`` if given."""
        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3.6))
        else:
            fig = ax.figure
        groups = sorted(set(self.column(group)), key=str) if group else [None]
        for value in groups:
            trials = [t for t in self.trials if group is None or t.settings[group] == value]
            xs = [t.settings[x] for t in trials]
            ys = [getattr(t, y) if hasattr(t, y) else t.extra[y] for t in trials]
            order = sorted(range(len(xs)), key=lambda i: xs[i])
            label = f"{group} = {value}" if group else None
            ax.plot([xs[i] for i in order], [ys[i] for i in order], "o-", markersize=4, label=label)
        if logx:
            ax.set_xscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(y.replace("_", " "))
        ax.grid(alpha=0.3)
        if group:
            ax.legend(fontsize=8)
        if title:
            ax.set_title(title, fontsize=10)
        fig.tight_layout()
        return fig


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4f}"
    return str(value)


def grid_settings(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the values in ``grid``, as a list of dicts."""
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def sweep(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
          train_one: Callable[..., History | tuple[History, Mapping[str, float]]],
          progress: bool | None = None) -> SweepResult:
    """Call ``train_one(**settings)`` for every setting and collect the results.

    ``grid`` is either a dict of lists (every combination is tried) or an explicit list of
    settings dicts. ``train_one`` returns a :class:`History`, or a ``(History, extras)`` pair
    where ``extras`` holds further measurements (say, test accuracy) for the table and plots.
    """
    settings_list = grid_settings(grid) if isinstance(grid, Mapping) else [dict(s) for s in grid]
    if not settings_list:
        raise ValueError("the sweep has no settings to try")
    show = in_notebook() if progress is None else progress
    trials = []
    for settings in tqdm(settings_list, desc="sweep", disable=not show, unit="trial"):
        outcome = train_one(**settings)
        history, extra = outcome if isinstance(outcome, tuple) else (outcome, {})
        trials.append(Trial(settings, history, dict(extra)))
    return SweepResult(trials)


def train_mlp(data, hidden_sizes: Sequence[int] = (256,), lr: float = 0.1, epochs: int = 10,
              activation: str = "relu", init: str = "normal", sigma: float = 0.01, seed: int = 0,
              progress: bool = False, plot: bool = False) -> tuple[DeepMLP, History]:
    """Build a :class:`DeepMLP` under ``seed``, train it on ``data``, return it and its history.

    Measure the test set separately (``evaluate(model, data.test_dataloader())``), once,
    after choosing settings on the validation split.
    """
    check_positive_int("epochs", epochs)
    torch.manual_seed(seed)
    model = DeepMLP(hidden_sizes, num_outputs=10, lr=lr, activation=activation, init=init, sigma=sigma)
    history = Trainer(max_epochs=epochs, seed=seed, progress=progress, plot=plot,
                      device=data.device).fit(model, data)
    return model, history
