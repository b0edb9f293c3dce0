"""Training from :class:`Settings` (train, repeat, sweep); comparing by :data:`RULE`."""
from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from tqdm.auto import tqdm

from .validate import one_of, positive_float, positive_int
from .config import course_seed, in_notebook, seed_or_default
from .data import InMemoryData
from .models import ACTIVATIONS, INITIALIZATIONS, DeepMLP
from .trainer import Callback, History, LRSchedule, Trainer

RULE = ("Two settings differ only when Welch's t-test says so at the 95% level: the difference "
        "of their mean accuracies over seeds, divided by its standard error "
        "$\\sqrt{s_a^2/n_a + s_b^2/n_b}$ (with $s$ the standard deviation over the $n$ seeds of each), "
        "is compared with the 97.5% quantile of Student's t for the Welch–Satterthwaite degrees of "
        "freedom (about 2.8 for 3 seeds against 3); otherwise they tie.")
"""The book's one rule for calling a measured difference real (see :func:`compare`)."""


@dataclass(frozen=True)
class Settings:
    """Everything that defines one run except the seed; the defaults are the reference run."""

    num_hiddens: int = 256
    num_layers: int = 1
    activation: str = "relu"
    init: str = "normal"
    sigma: float = 0.01
    lr: float = 0.1
    epochs: int = 10
    batch_size: int = 256
    schedule: str = "constant"
    momentum: float = 0.0

    def __post_init__(self) -> None:
        for name in ("num_hiddens", "epochs", "batch_size"):
            positive_int(name, getattr(self, name))
        if isinstance(self.num_layers, bool) or not isinstance(self.num_layers, int) or self.num_layers < 0:
            raise ValueError(f"num_layers must be an integer >= 0, got {self.num_layers!r}")
        positive_float("lr", self.lr)
        positive_float("sigma", self.sigma)
        one_of("activation", self.activation, ACTIVATIONS)
        one_of("init", self.init, INITIALIZATIONS)
        one_of("schedule", self.schedule, ("constant", "linear"))
        if isinstance(self.momentum, bool) or not isinstance(self.momentum, (int, float)) \
                or not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be a number in [0, 1), e.g. 0.9; got {self.momentum!r}")

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some settings changed; an unknown name is an error that lists the known ones."""
        names = [f.name for f in dataclasses.fields(self)]
        if set(changes) - set(names):
            raise ValueError(f"unknown setting(s) {sorted(set(changes) - set(names))}; settings are {names}")
        return dataclasses.replace(self, **changes)

    def changed(self) -> dict[str, Any]:
        """The settings that differ from the defaults."""
        return {name: value for name, value in vars(self).items() if value != getattr(Settings, name)}

    def build(self, num_inputs: int = 784, num_outputs: int = 10) -> DeepMLP:
        """A fresh model of these settings, drawn from PyTorch's current random state."""
        return DeepMLP((self.num_hiddens,) * self.num_layers, num_outputs=num_outputs, lr=self.lr,
                       activation=self.activation, init=self.init, sigma=self.sigma,
                       num_inputs=num_inputs, momentum=self.momentum)

    def __str__(self) -> str:
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in (self.changed() or {"defaults": "reference run"}).items())


@dataclass
class Run:
    """One seed of one setting: the trained model, its history and any extra measurements."""

    settings: Settings
    seed: int
    model: DeepMLP
    history: History
    extra: dict[str, float] = field(default_factory=dict)
    acc = property(lambda self: self.history.final_acc, doc="Final accuracy of the history (NaN if none).")


def train(settings: Settings, data: InMemoryData, seed: int | None = None,
          callbacks: Sequence[Callback] = (), progress: bool = False, title: str = "",
          measure: Callable[[DeepMLP], Mapping[str, float]] | None = None) -> Run:
    """Train ``settings`` on ``data`` (``seed`` fixes weights and batch order); ``measure`` adds ``extra``."""
    seed, epochs = seed_or_default(seed), settings.epochs
    if settings.schedule == "linear":  # the rate of epoch e (from 0) is lr * (epochs - e) / epochs
        callbacks = [*callbacks, LRSchedule(lambda e: (epochs - e) / epochs)]
    torch.manual_seed(seed)
    model = settings.build(num_inputs=data.X_train[0].numel(), num_outputs=data.num_classes)
    trainer = Trainer(epochs, device=data.device, callbacks=callbacks, progress=progress, title=title)
    history = trainer.fit(model, data.view(batch_size=settings.batch_size, seed=seed))
    return Run(settings, seed, model, history, dict(measure(model)) if measure else {})


@dataclass
class Group:
    """The runs of one setting over several seeds, summarized by mean and standard deviation."""

    settings: Settings
    runs: list[Run]

    def values(self, metric: str = "acc") -> list[float]:
        """``metric`` of every run: ``"acc"``, ``"seconds"`` or a name in the runs' ``extra``."""
        if metric in ("acc", "seconds"):
            return [run.acc if metric == "acc" else run.history.total_seconds for run in self.runs]
        return [run.extra[metric] for run in self.runs]

    def mean(self, metric: str = "acc") -> float:
        """Mean over the seeds (NaN if any run has none, e.g. one that diverged at once)."""
        return statistics.fmean(self.values(metric))

    def std(self, metric: str = "acc") -> float:
        """Sample standard deviation over the seeds (0 for a single run)."""
        values = self.values(metric)
        if any(math.isnan(v) for v in values):
            return math.nan
        return statistics.stdev(values) if len(values) > 1 else 0.0

    def summary(self, metric: str = "acc") -> str:
        """E.g. ``'0.8462 ± 0.0031 (3 seeds)'``: mean ± standard deviation."""
        return f"{self.mean(metric):.4f} ± {self.std(metric):.4f} ({len(self.runs)} seeds)"

    split = property(lambda self: self.runs[0].history.split)


def seeds_of(seeds: int | Sequence[int]) -> list[int]:
    """A count of seeds (the first ones of :func:`course_seed`) or a list, as a list."""
    if isinstance(seeds, int):
        return [course_seed(i) for i in range(positive_int("seeds", seeds))]
    if not seeds:
        raise ValueError("seeds: give a number of seeds such as 3, or a non-empty list such as [0, 1, 2]")
    return [int(s) for s in seeds]


def repeat(settings: Settings, data: InMemoryData, seeds: int | Sequence[int] = 3,
           **train_options: Any) -> Group:
    """:func:`train` ``settings`` once per seed (``seeds`` seeds from :func:`course_seed`, or a list)."""
    return Group(settings, [train(settings, data, seed, **train_options) for seed in seeds_of(seeds)])


@dataclass
class Verdict:
    """:func:`compare`'s outcome: "better", "worse" or "tie" (``a`` against ``b``) and the test's numbers."""

    word: str
    difference: float
    margin: float
    dof: float
    p: float

    def __str__(self) -> str:
        return (f"{self.word} (difference {self.difference:+.4f}, 95% margin {self.margin:.4f}, "
                f"Welch's t-test {p_text(self.p)})")


def p_text(p: float) -> str:
    """A p-value as the book prints it: ``p = 0.047``, or ``p < 0.001`` below that."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def welch(a: Sequence[float], b: Sequence[float]) -> Verdict:
    """Welch's two-sided t-test at 95%: ``a`` better, worse or tied with ``b`` (no spread: means decide)."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's t-test needs at least 2 values on each side (2 seeds or more); "
                         f"got {len(a)} and {len(b)}")
    a_failed, b_failed = any(math.isnan(v) for v in a), any(math.isnan(v) for v in b)
    if a_failed or b_failed:  # a run with no accuracy (diverged at once) ranks below any that has one
        word = "tie" if a_failed and b_failed else ("worse" if a_failed else "better")
        return Verdict(word, math.nan, math.nan, math.nan, math.nan)
    difference = statistics.fmean(a) - statistics.fmean(b)
    error = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    if error == 0:
        word = "tie" if difference == 0 else ("better" if difference > 0 else "worse")
        return Verdict(word, difference, 0.0, math.inf, 1.0 if difference == 0 else 0.0)
    with warnings.catch_warnings():  # one side all equal (variance 0) makes scipy warn; the test holds
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        test = stats.ttest_ind(a, b, equal_var=False)
    dof = float(test.df)
    margin = float(stats.t.ppf(0.975, dof)) * error
    word = "tie" if float(test.pvalue) >= 0.05 else ("better" if difference > 0 else "worse")
    return Verdict(word, difference, margin, dof, float(test.pvalue))


def compare(a: Group, b: Group, metric: str = "acc") -> Verdict:
    """Is ``a`` better than, worse than or tied with ``b``, by :data:`RULE` (Welch's t-test at 95%)?"""
    return welch(a.values(metric), b.values(metric))


def check(condition: bool, claim: str) -> None:
    """Assert a sentence of the text from the numbers just measured, and print it with a tick."""
    if not condition:
        raise AssertionError(f"The text says: {claim!r}. This run's numbers do not support it; "
                             "the text and the measurement disagree.")
    print(f"✓ {claim}")


def combinations(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of a dict of value lists, as a list of dicts (the first name varies slowest)."""
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]


@dataclass
class Results:
    """Groups of runs, one per setting, in the order they ran: the course's one result table."""

    groups: list[Group]

    def best(self, metric: str = "acc") -> Group:
        """The group with the highest mean ``metric`` (a NaN mean, e.g. a diverged run, ranks last)."""
        return max(self.groups, key=lambda g: -math.inf if math.isnan(g.mean(metric)) else g.mean(metric))

    def find(self, **settings: Any) -> Group:
        """The one group whose settings have these values."""
        found = [g for g in self.groups if all(getattr(g.settings, k) == v for k, v in settings.items())]
        if len(found) != 1:
            raise KeyError(f"{len(found)} groups match {settings}; give values that pick exactly one")
        return found[0]

    def varied(self) -> list[str]:
        """The names of the settings that differ between groups."""
        return [n for n in vars(Settings()) if len({getattr(g.settings, n) for g in self.groups}) > 1]

    def table(self, metrics: Sequence[str] = ("acc",)) -> str:
        """One row per setting: the varied settings, then mean ± std of each metric over seeds."""
        names = self.varied() or ["settings"]
        header = names + [f"{self.groups[0].split} acc" if m == "acc" else m for m in metrics]
        rows = [[str(getattr(g.settings, n)) if n != "settings" else str(g.settings) for n in names]
                + [f"{g.mean(m):.4f} ± {g.std(m):.4f}" for m in metrics] for g in self.groups]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
        lines.append(f"(mean ± standard deviation over {len(self.groups[0].runs)} seeds)")
        return "\n".join(lines)

    def plot(self, x: str, metric: str = "acc", logx: bool = False, ax: plt.Axes | None = None,
             title: str = "") -> plt.Figure:
        """Mean ``metric`` against the setting ``x``, with ± one standard deviation as error bars."""
        fig, ax = plt.subplots(figsize=(6, 3.6)) if ax is None else (ax.figure, ax)
        chosen = sorted(self.groups, key=lambda g: getattr(g.settings, x))
        ax.errorbar([getattr(g.settings, x) for g in chosen], [g.mean(metric) for g in chosen],
                    yerr=[g.std(metric) for g in chosen], fmt="o-", markersize=4, capsize=3)
        if logx:
            ax.set_xscale("log")
        ax.set(xlabel=x, ylabel=f"{self.groups[0].split} accuracy" if metric == "acc" else metric)
        ax.grid(alpha=0.3)
        if title:
            ax.set_title(title, fontsize=10)
        fig.tight_layout()
        return fig


def sweep(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]], data: InMemoryData,
          base: Settings = Settings(), seeds: int | Sequence[int] = 3, progress: bool | None = None,
          **train_options: Any) -> Results:
    """Train every change of ``base`` in ``grid`` (dict of value lists, or list of dicts) over ``seeds``."""
    changes = combinations(grid) if isinstance(grid, Mapping) else [dict(g) for g in grid]
    if not changes:
        raise ValueError("sweep: the grid holds no settings; give a dict of value lists, e.g. "
                         "{'lr': [0.1, 0.3]}, or a list of dicts of changes, e.g. [{'lr': 0.1}]")
    settings_list, seed_list, runs = [base.replace(**change) for change in changes], seeds_of(seeds), []
    show = in_notebook() if progress is None else progress
    with tqdm(total=len(settings_list) * len(seed_list), desc="sweep", unit="run", disable=not show) as bar:
        for settings, seed in itertools.product(settings_list, seed_list):
            runs.append(train(settings, data, seed, **train_options))
            bar.update(1)
    n = len(seed_list)
    return Results([Group(settings, runs[i * n:(i + 1) * n]) for i, settings in enumerate(settings_list)])
