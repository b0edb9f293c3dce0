"""Searching several hyperparameters at once: grid, random and Optuna (TPE with pruning).

Every strategy runs the same objective: build a :class:`~mlp_utils.builders.DeepMLP` from a
learning rate, a number of epochs, a number of hidden layers and a width (and, optionally, a
batch size), train it on the training part of a data module, and score it by its accuracy on the
module's *validation split* after the last epoch. The test set is never touched here: measure
it once, at the very end, on the winner (:func:`retrain`).

All three strategies are driven by Optuna, so their results look alike (an
``optuna.Study`` wrapped in a :class:`SearchResult`): grid search uses ``GridSampler``, random
search ``RandomSampler``, and :func:`optuna_search` the TPE sampler with a pruner that stops
unpromising trials early. :func:`optuna_search` keeps its study in memory by default, or in a
shared storage (a journal file, or a database URL such as ``sqlite:///search.db``) so that
several worker processes fill one study; each such worker can be started from a shell::

    python -m mlp_utils.search --storage search.log --study mlp --trials 10

Requires Optuna (``pip install "mlp_utils[search]"``).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import optuna
import torch
from optuna.trial import FrozenTrial, TrialState

from .builders import INITIALIZATIONS, DeepMLP
from .checks import check_positive_int
from .data import FashionMNIST, TensorBatches
from .train import History, Trainer, evaluate

__all__ = [
    "SearchResult", "SearchSpace", "grid_search", "hidden_sizes_of", "make_objective", "make_pruner",
    "make_storage", "load_result", "optuna_search", "random_search", "retrain", "train_settings", "main",
]

Objective = Callable[[optuna.Trial], float]
OPTIONAL_NAMES = ("batch_size", "schedule", "init")
SETTING_NAMES = ("lr", "epochs", "num_layers", "num_hiddens", *OPTIONAL_NAMES)
SCHEDULES = ("constant", "linear")


# ----------------------------------------------------------------------------------------------
# The search space
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchSpace:
    """Where the search may look.

    Args:
        lr: lowest and highest learning rate; sampled on a log scale.
        epochs: fewest and most epochs (integers, both included).
        num_layers: fewest and most hidden layers (integers, both included).
        num_hiddens: the widths to choose from (every hidden layer gets the same width).
        batch_size: the batch sizes to choose from; a single value fixes it.
        schedule: learning-rate schedules to choose from: ``"constant"`` keeps ``lr`` for every
            epoch; ``"linear"`` uses ``lr * (epochs - e + 1) / epochs`` in epoch ``e``, decaying
            to a small step in the last epoch. A single value fixes it.
        init: weight initializations to choose from (see :class:`DeepMLP`); ``"kaiming"`` suits
            deeper ReLU networks. A single value fixes it.
    """

    lr: tuple[float, float] = (0.01, 1.0)
    epochs: tuple[int, int] = (2, 20)
    num_layers: tuple[int, int] = (1, 3)
    num_hiddens: tuple[int, ...] = (64, 128, 256, 512, 1024)
    batch_size: tuple[int, ...] = (256,)
    schedule: tuple[str, ...] = ("constant",)
    init: tuple[str, ...] = ("kaiming",)

    def __post_init__(self) -> None:
        low, high = self.lr
        if not (0 < low <= high) or not math.isfinite(high):
            raise ValueError(f"lr must be (low, high) with 0 < low <= high, got {self.lr!r}")
        for name in ("epochs", "num_layers"):
            low, high = getattr(self, name)
            check_positive_int(f"{name}[0]", low)
            check_positive_int(f"{name}[1]", high)
            if low > high:
                raise ValueError(f"{name} must be (low, high) with low <= high, got {getattr(self, name)!r}")
        for name in ("num_hiddens", "batch_size"):
            values = getattr(self, name)
            if len(values) == 0:
                raise ValueError(f"{name} must list at least one value")
            for value in values:
                check_positive_int(f"{name}[i]", value)
        if not self.schedule or any(s not in SCHEDULES for s in self.schedule):
            raise ValueError(f"schedule must list values from {SCHEDULES}, got {self.schedule!r}")
        if not self.init or any(i not in INITIALIZATIONS for i in self.init):
            raise ValueError(f"init must list values from {INITIALIZATIONS}, got {self.init!r}")

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Ask ``trial`` for one setting of every hyperparameter."""
        settings: dict[str, Any] = {
            "lr": trial.suggest_float("lr", self.lr[0], self.lr[1], log=True),
            "epochs": trial.suggest_int("epochs", self.epochs[0], self.epochs[1]),
            "num_layers": trial.suggest_int("num_layers", self.num_layers[0], self.num_layers[1]),
            "num_hiddens": trial.suggest_categorical("num_hiddens", list(self.num_hiddens)),
        }
        for name in OPTIONAL_NAMES:
            values = getattr(self, name)
            settings[name] = trial.suggest_categorical(name, list(values)) if len(values) > 1 else values[0]
        return settings

    def fixed(self) -> dict[str, Any]:
        """The settings that have a single value, so no search dimension."""
        return {name: getattr(self, name)[0] for name in OPTIONAL_NAMES if len(getattr(self, name)) == 1}

    def check_grid(self, grid: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """Check that ``grid`` names every searched hyperparameter with values inside the space."""
        required = ["lr", "epochs", "num_layers", "num_hiddens"]
        required += [name for name in OPTIONAL_NAMES if len(getattr(self, name)) > 1]
        missing = [name for name in required if name not in grid]
        unknown = [name for name in grid if name not in required]
        if missing or unknown:
            raise ValueError(f"the grid must give values for exactly {required}; "
                             f"missing {missing}, unknown {unknown}")
        checked: dict[str, list[Any]] = {}
        for name in required:
            values = grid[name]
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
                raise ValueError(f"grid[{name!r}] must be a non-empty list, got {values!r}")
            for value in values:
                if name == "lr":
                    inside = self.lr[0] <= value <= self.lr[1]
                elif name in ("epochs", "num_layers"):
                    low, high = getattr(self, name)
                    inside = isinstance(value, int) and low <= value <= high
                else:
                    inside = value in getattr(self, name)
                if not inside:
                    raise ValueError(f"grid[{name!r}] holds {value!r}, outside the search space "
                                     f"{getattr(self, name)!r}")
            checked[name] = list(values)
        return checked


def hidden_sizes_of(settings: Mapping[str, Any]) -> tuple[int, ...]:
    """The hidden layer widths of a setting: ``num_layers`` layers of ``num_hiddens`` units."""
    return (int(settings["num_hiddens"]),) * int(settings["num_layers"])


# ----------------------------------------------------------------------------------------------
# Training one setting
# ----------------------------------------------------------------------------------------------

class _Batches:
    """A data module's training tensors and a validation set, served with another batch size."""

    def __init__(self, X_train: torch.Tensor, y_train: torch.Tensor, X_val: torch.Tensor,
                 y_val: torch.Tensor, batch_size: int, seed: int) -> None:
        self.X_train, self.y_train, self.X_val, self.y_val = X_train, y_train, X_val, y_val
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.seed = seed

    def train_dataloader(self, epoch: int = 0) -> TensorBatches:
        return TensorBatches(self.X_train, self.y_train, self.batch_size, shuffle=True,
                             seed=self.seed + epoch)

    def val_dataloader(self) -> TensorBatches:
        return TensorBatches(self.X_val, self.y_val, 1024)


def linear_decay(epochs: int) -> Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]:
    """A scheduler factory: epoch ``e`` of ``epochs`` uses ``lr * (epochs - e + 1) / epochs``."""
    return lambda optimizer: torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda finished: (epochs - finished) / epochs)


def train_settings(data: FashionMNIST, settings: Mapping[str, Any], seed: int = 0,
                   on_epoch: Callable[[int, float], None] | None = None,
                   X_val: torch.Tensor | None = None, y_val: torch.Tensor | None = None,
                   ) -> tuple[DeepMLP, History]:
    """Train a :class:`DeepMLP` with ``settings`` on ``data``'s training images.

    ``settings`` holds ``lr``, ``epochs``, ``num_layers``, ``num_hiddens`` and optionally
    ``batch_size`` (default: the data module's), ``schedule`` (default ``"constant"``; ``"linear"``
    decays the rate linearly to ``lr / epochs`` in the last epoch) and ``init`` (default
    ``"kaiming"``). The model is built under ``seed``; each epoch ends with an evaluation on the
    validation split (or on ``X_val``/``y_val`` if given), and ``on_epoch(epoch, val_acc)`` is
    called then: it may raise (``optuna.TrialPruned``, say) to stop training. A run whose loss
    becomes NaN stops with ``history.stopped == "diverged"``; the trainer's warning is silenced
    here, the history says it. Returns the model and its :class:`~mlp_utils.train.History`.
    """
    epochs = check_positive_int("epochs", settings["epochs"])
    batch_size = int(settings.get("batch_size", data.batch_size))
    schedule = settings.get("schedule", "constant")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    torch.manual_seed(seed)
    model = DeepMLP(hidden_sizes_of(settings), lr=float(settings["lr"]), init=settings.get("init", "kaiming"))
    batches = _Batches(data.X_train, data.y_train,
                       data.X_val if X_val is None else X_val, data.y_val if y_val is None else y_val,
                       batch_size, data.seed)
    trainer = Trainer(max_epochs=epochs, device=data.device, progress=False, plot=False,
                      lr_scheduler=linear_decay(epochs) if schedule == "linear" else None)
    report = None if on_epoch is None else (lambda record: on_epoch(record.epoch, record.val_acc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = trainer.fit(model, batches, on_epoch=report)
    return model, history


def make_objective(data: FashionMNIST, space: SearchSpace | None = None, seed: int = 0,
                   worker: str | None = None) -> Objective:
    """The function every search maximizes: validation accuracy after training one setting.

    ``data`` must hold a validation split carved out of the training set
    (``FashionMNIST(validation_size=...)``); the test set is never used. The objective reports
    the validation accuracy after every epoch to the trial (``trial.report``) and raises
    ``optuna.TrialPruned`` when the study's pruner says to stop (``trial.should_prune``).
    Each trial records the user attributes ``seconds`` (training time), ``epochs_run``,
    ``stopped`` (``""``, ``"pruned"`` or ``"diverged"``) and, if given, ``worker``.
    A diverged run scores the accuracy its broken model has (about chance).
    """
    if getattr(data, "validation_size", 0) <= 0:
        raise ValueError("the search needs a validation split: build the data with "
                         "FashionMNIST(validation_size=...) so the test set stays untouched")
    space = SearchSpace() if space is None else space

    def objective(trial: optuna.Trial) -> float:
        settings = space.suggest(trial)
        if worker is not None:
            trial.set_user_attr("worker", worker)
        start = time.perf_counter()
        epochs_run = 0

        def on_epoch(epoch: int, val_acc: float) -> None:
            nonlocal epochs_run
            epochs_run = epoch
            trial.report(val_acc, step=epoch)
            if epoch < settings["epochs"] and trial.should_prune():
                trial.set_user_attr("stopped", "pruned")
                trial.set_user_attr("epochs_run", epoch)
                trial.set_user_attr("seconds", time.perf_counter() - start)
                raise optuna.TrialPruned(f"pruned after epoch {epoch} (val acc {val_acc:.4f})")

        model, history = train_settings(data, settings, seed=seed, on_epoch=on_epoch)
        trial.set_user_attr("seconds", time.perf_counter() - start)
        trial.set_user_attr("epochs_run", epochs_run)
        trial.set_user_attr("stopped", history.stopped or "")
        if history.stopped == "diverged":
            return evaluate(model, TensorBatches(data.X_val, data.y_val, 1024))[1]
        return history.final_val_acc

    return objective


# ----------------------------------------------------------------------------------------------
# Storages, pruners and the three strategies
# ----------------------------------------------------------------------------------------------

def make_storage(storage: str | os.PathLike | optuna.storages.BaseStorage | None
                 ) -> str | optuna.storages.BaseStorage | None:
    """Turn ``storage`` into something ``optuna.create_study`` accepts.

    ``None`` keeps the study in memory (one process only). A string with ``://`` is a database
    URL (``sqlite:///search.db``, ``postgresql://...``) and goes to ``RDBStorage``. Any other
    string or path names a journal file (created if absent) shared through
    ``JournalStorage(JournalFileBackend(path))``, which needs no database server. A storage
    object is returned unchanged.
    """
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if isinstance(storage, (str, os.PathLike)):
        text = os.fspath(storage)
        if not text:
            raise ValueError("storage must be None, a journal file path or a database URL, got ''")
        if "://" in text:
            if text.startswith("sqlite"):
                # several processes writing one SQLite file: wait for the lock instead of failing
                return optuna.storages.RDBStorage(text, engine_kwargs={"connect_args": {"timeout": 60}})
            return text
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(text))
    raise ValueError(f"storage must be None, a journal file path, a database URL or an Optuna "
                     f"storage, got {type(storage).__name__}")


def make_pruner(pruner: str | optuna.pruners.BasePruner | None) -> optuna.pruners.BasePruner:
    """``"median"`` (the default strategy), ``"hyperband"``, ``"none"``/``None``, or a pruner."""
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        # stop a trial whose accuracy after an epoch is below the median of earlier trials
        # after the same epoch; judge only once 4 trials have finished, and not after epoch 1
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=3)
    raise ValueError(f"pruner must be 'median', 'hyperband', 'none', None or an Optuna pruner, got {pruner!r}")


@dataclass
class SearchResult:
    """One search: its strategy's name and the Optuna study that holds every trial."""

    strategy: str
    study: optuna.Study
    wall_seconds: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def trials(self) -> list[FrozenTrial]:
        """Finished trials (complete or pruned), in the order they started."""
        states = (TrialState.COMPLETE, TrialState.PRUNED)
        return sorted(self.study.get_trials(deepcopy=False, states=states), key=lambda t: t.number)

    @property
    def num_pruned(self) -> int:
        return sum(t.state == TrialState.PRUNED for t in self.trials)

    @property
    def best_trial(self) -> FrozenTrial:
        """The completed trial with the highest validation accuracy."""
        return self.study.best_trial

    @property
    def best_value(self) -> float:
        return float(self.study.best_value)

    @property
    def best_settings(self) -> dict[str, Any]:
        """The best trial's settings, batch size included even when it was fixed."""
        settings = dict(self.notes.get("fixed", {}))
        settings.update(self.best_trial.params)
        return settings

    def best_so_far(self) -> list[float]:
        """After each finished trial, the best validation accuracy of a completed trial yet."""
        best, curve = -math.inf, []
        for trial in self.trials:
            if trial.state == TrialState.COMPLETE and trial.value is not None:
                best = max(best, trial.value)
            curve.append(best if best > -math.inf else math.nan)
        return curve

    def cumulative_seconds(self) -> list[float]:
        """Training seconds spent up to and including each finished trial."""
        total, out = 0.0, []
        for trial in self.trials:
            total += float(trial.user_attrs.get("seconds", 0.0))
            out.append(total)
        return out

    def table(self) -> str:
        """One row per finished trial: its number, settings, state and score."""
        names = [n for n in SETTING_NAMES if any(n in t.params for t in self.trials)]
        header = f"{'trial':>5} " + " ".join(f"{n:>11}" for n in names) + f" {'state':>8} {'val acc':>8}"
        lines = [header]
        for t in self.trials:
            cells = [f"{t.params[n]:>11.4g}" if isinstance(t.params.get(n), float)
                 else f"{t.params.get(n, ''):>11}" for n in names]
            value = f"{t.value:.4f}" if t.value is not None else "-"
            lines.append(f"{t.number:>5} " + " ".join(cells) + f" {t.state.name.lower():>8} {value:>8}")
        return "\n".join(lines)


def _run(strategy: str, objective: Objective, n_trials: int, sampler: optuna.samplers.BaseSampler,
         pruner: optuna.pruners.BasePruner, storage=None, study_name: str | None = None,
         space: SearchSpace | None = None) -> SearchResult:
    with _quiet_optuna():
        study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner,
                                    storage=make_storage(storage), study_name=study_name,
                                    load_if_exists=storage is not None)
        start = time.perf_counter()
        study.optimize(objective, n_trials=n_trials)
    notes = {"fixed": (space or SearchSpace()).fixed()}
    return SearchResult(strategy, study, time.perf_counter() - start, notes)


class _quiet_optuna:
    """Silence Optuna's per-trial log lines (the notebooks print their own summaries)."""

    def __enter__(self) -> None:
        self.level = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        optuna.logging.set_verbosity(self.level)


def grid_search(objective: Objective, grid: Mapping[str, Sequence[Any]],
                space: SearchSpace | None = None, seed: int = 0) -> SearchResult:
    """Try every combination of ``grid`` (a dict of value lists) once, in a seeded random order.

    ``objective`` must come from :func:`make_objective` with the same ``space``; every grid
    value must lie inside it. No pruning: each setting trains for all its epochs.
    """
    space = SearchSpace() if space is None else space
    checked = space.check_grid(grid)
    n_trials = math.prod(len(v) for v in checked.values())
    sampler = optuna.samplers.GridSampler(checked, seed=seed)
    return _run("grid", objective, n_trials, sampler, optuna.pruners.NopPruner(), space=space)


def random_search(objective: Objective, n_trials: int, seed: int = 0,
                  space: SearchSpace | None = None) -> SearchResult:
    """``n_trials`` settings drawn independently (learning rate log-uniform), seeded; no pruning."""
    check_positive_int("n_trials", n_trials)
    return _run("random", objective, n_trials, optuna.samplers.RandomSampler(seed=seed),
                optuna.pruners.NopPruner(), space=space)


def optuna_search(objective: Objective, n_trials: int,
                  storage: str | os.PathLike | optuna.storages.BaseStorage | None = None,
                  study_name: str | None = None, seed: int | None = 0,
                  pruner: str | optuna.pruners.BasePruner | None = "median",
                  n_startup_trials: int = 5, space: SearchSpace | None = None) -> SearchResult:
    """``n_trials`` trials of Optuna's TPE sampler, stopping poor trials early with ``pruner``.

    With ``storage=None`` the study lives in memory. With a journal file path or a database
    URL (see :func:`make_storage`) the study named ``study_name`` is created or, if it exists,
    joined: several processes calling this (or ``python -m mlp_utils.search``) fill one study.
    The first ``n_startup_trials`` settings are random; TPE then models what worked.
    Give each worker its own ``seed`` (or ``None``), or they propose the same settings.
    """
    check_positive_int("n_trials", n_trials)
    check_positive_int("n_startup_trials", n_startup_trials)
    if storage is not None and not study_name:
        raise ValueError("a shared storage needs a study_name that every worker uses")
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    return _run("optuna", objective, n_trials, sampler, make_pruner(pruner), storage=storage,
                study_name=study_name, space=space)


def load_result(storage: str | os.PathLike | optuna.storages.BaseStorage, study_name: str,
                strategy: str = "optuna", space: SearchSpace | None = None) -> SearchResult:
    """Load a study that workers filled in a shared storage (``optuna.load_study``).

    ``space`` (the workers' search space) supplies the fixed settings of ``best_settings``.
    """
    study = optuna.load_study(study_name=study_name, storage=make_storage(storage))
    return SearchResult(strategy, study, notes={"fixed": (space or SearchSpace()).fixed()})


def retrain(settings: Mapping[str, Any], seed: int = 0, device: str | torch.device | None = None,
            monitor_size: int = 5000) -> tuple[DeepMLP, History, float]:
    """Train ``settings`` on all 60,000 training images, then measure the test set once.

    Per-epoch monitoring uses the first ``monitor_size`` training images (training accuracy),
    never the test set. Returns the model, its history and its test accuracy.
    """
    full = FashionMNIST(batch_size=int(settings.get("batch_size", 256)), device=device, seed=seed)
    X_monitor, y_monitor = full.X_train[:monitor_size], full.y_train[:monitor_size]
    model, history = train_settings(full, settings, seed=seed, X_val=X_monitor, y_val=y_monitor)
    _, test_acc = evaluate(model, full.test_dataloader())
    return model, history, test_acc


# ----------------------------------------------------------------------------------------------
# A worker process: python -m mlp_utils.search --storage FILE --study NAME --trials N
# ----------------------------------------------------------------------------------------------

def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mlp_utils.search",
        description="Run Optuna trials of the MLP search as one worker of a shared study.")
    parser.add_argument("--storage", required=True,
                        help="a journal file path, or a database URL such as sqlite:///search.db")
    parser.add_argument("--study", required=True, help="the study's name (shared by all workers)")
    parser.add_argument("--trials", type=int, required=True, help="trials this worker runs")
    parser.add_argument("--seed", type=int, default=None,
                        help="sampler seed (give each worker its own); the model seed is --model-seed")
    parser.add_argument("--model-seed", type=int, default=0, help="seed of every trial's model")
    parser.add_argument("--worker", default=None, help="a name stored with each trial (default: pid-N)")
    parser.add_argument("--validation-size", type=int, default=10000)
    parser.add_argument("--num-train", type=int, default=None, help="train on this many images only")
    parser.add_argument("--lr", type=float, nargs=2, default=list(SearchSpace.lr), metavar=("LOW", "HIGH"))
    parser.add_argument("--epochs", type=int, nargs=2, default=list(SearchSpace.epochs), metavar=("LOW", "HIGH"))
    parser.add_argument("--layers", type=int, nargs=2, default=list(SearchSpace.num_layers), metavar=("LOW", "HIGH"))
    parser.add_argument("--hiddens", type=int, nargs="+", default=list(SearchSpace.num_hiddens))
    parser.add_argument("--batch-size", type=int, nargs="+", default=list(SearchSpace.batch_size))
    parser.add_argument("--schedule", nargs="+", default=list(SearchSpace.schedule), choices=SCHEDULES)
    parser.add_argument("--init", nargs="+", default=list(SearchSpace.init), choices=INITIALIZATIONS)
    parser.add_argument("--pruner", default="median", choices=["median", "hyperband", "none"])
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one worker: join (or create) the study and add ``--trials`` trials to it."""
    args = _parse_args(argv)
    space = SearchSpace(lr=tuple(args.lr), epochs=tuple(args.epochs), num_layers=tuple(args.layers),
                        num_hiddens=tuple(args.hiddens), batch_size=tuple(args.batch_size),
                        schedule=tuple(args.schedule), init=tuple(args.init))
    data = FashionMNIST(device=args.device, validation_size=args.validation_size,
                        num_train=args.num_train)
    worker = args.worker or f"pid-{os.getpid()}"
    objective = make_objective(data, space, seed=args.model_seed, worker=worker)
    result = optuna_search(objective, args.trials, storage=args.storage, study_name=args.study,
                           seed=args.seed, pruner=args.pruner, space=space)
    mine = [t for t in result.trials if t.user_attrs.get("worker") == worker]
    print(f"{worker}: ran {len(mine)} trial(s); the study now holds {len(result.trials)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
