"""Exercise 5's search space and objective; ``python -m mlp_utils.search`` is one worker."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import optuna

from .config import course_seed
from .data import FashionMNIST
from .experiments import Settings, train
from .trainer import OnEpoch, evaluate


@dataclass(frozen=True)
class SearchSpace:
    """Where the search looks: ranges (ends included; ``lr`` on a log scale), sizes, and ``base``."""

    lr: tuple[float, float] = (0.01, 1.0)
    epochs: tuple[int, int] = (2, 20)
    num_layers: tuple[int, int] = (1, 3)
    num_hiddens: tuple[int, ...] = (256, 512, 1024)
    base: Settings = Settings()

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Ask ``trial`` for the searched settings; returns every field of :class:`Settings`."""
        return {**dataclasses.asdict(self.base),
                "lr": trial.suggest_float("lr", *self.lr, log=True),
                "epochs": trial.suggest_int("epochs", *self.epochs),
                "num_layers": trial.suggest_int("num_layers", *self.num_layers),
                "num_hiddens": trial.suggest_categorical("num_hiddens", list(self.num_hiddens))}

    def to_json(self) -> str:
        """The space as JSON text, for a worker process (:func:`main`'s ``--space``)."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "SearchSpace":
        """The inverse of :meth:`to_json`."""
        fields = json.loads(text)
        return cls(**{name: tuple(values) for name, values in fields.items() if name != "base"},
                   base=Settings(**fields["base"]))


def make_objective(data: FashionMNIST, space: SearchSpace, seed: int | None = None
                   ) -> Callable[[optuna.Trial], float]:
    """What a study maximizes: validation accuracy under ``seed``, reported each epoch for the pruner."""
    if not isinstance(data, FashionMNIST) or data.eval_split != "val":
        raise ValueError("data must be a FashionMNIST with a validation split, e.g. "
                         "FashionMNIST(validation_size=5000): the search must not choose on the test set")

    def objective(trial: optuna.Trial) -> float:
        settings = Settings(**space.suggest(trial))

        def report(record) -> None:
            trial.report(record.eval_acc, step=record.epoch)
            if record.epoch < settings.epochs and trial.should_prune():
                raise optuna.TrialPruned(f"stopped after epoch {record.epoch} (val acc {record.eval_acc:.4f})")

        with warnings.catch_warnings():  # a diverged run is a poor score, not an error
            warnings.simplefilter("ignore", RuntimeWarning)
            run = train(settings, data, seed, callbacks=[OnEpoch(report)])
        return evaluate(run.model, data.val_dataloader())[1] if run.history.stopped == "diverged" else run.acc

    return objective


def main(argv: Sequence[str] | None = None) -> int:
    """One worker: join (or create) a study in a journal file and run ``--trials`` TPE trials."""
    parser = argparse.ArgumentParser(prog="python -m mlp_utils.search",
                                     description="Add TPE trials to a study shared through a journal file.")
    parser.add_argument("--storage", required=True, help="the journal file every worker shares")
    parser.add_argument("--study", required=True, help="the study's name (the same for every worker)")
    parser.add_argument("--trials", type=int, required=True, help="trials this worker runs")
    parser.add_argument("--space", default=SearchSpace().to_json(), help="SearchSpace.to_json() text")
    parser.add_argument("--seed", type=int, default=None, help="this worker's sampler seed")
    parser.add_argument("--worker", default=f"pid-{os.getpid()}", help="a name stored with each trial")
    parser.add_argument("--validation-size", type=int, default=5000)
    parser.add_argument("--num-train", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    data = FashionMNIST(batch_size=128, device=args.device, validation_size=args.validation_size,
                        num_train=args.num_train)
    objective = make_objective(data, SearchSpace.from_json(args.space), seed=course_seed())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", study_name=args.study, load_if_exists=True,
        storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(args.storage)),
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))

    def tagged(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", args.worker)
        return objective(trial)

    study.optimize(tagged, n_trials=args.trials)
    print(f"{args.worker}: ran {args.trials} trial(s); the study now holds {len(study.trials)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
