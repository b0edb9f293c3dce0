"""The search space and objective of exercise 5, run through Optuna's own API."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from mlp_utils import FashionMNIST, Settings  # noqa: E402
from mlp_utils.search import SearchSpace, make_objective  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BASE = Settings(init="kaiming", schedule="linear", batch_size=128)
TINY = SearchSpace(lr=(0.05, 0.5), epochs=(2, 3), num_layers=(1, 2), num_hiddens=(16, 32), base=BASE)


@pytest.fixture(scope="module")
def tiny_data() -> FashionMNIST:
    """1,024 training images and a 512-image validation split: a trial takes a fraction of a second."""
    return FashionMNIST(batch_size=128, device="cpu", validation_size=512, num_train=1024)


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def study(sampler=None, pruner=None) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="maximize", sampler=sampler or optuna.samplers.RandomSampler(seed=0),
                               pruner=pruner or optuna.pruners.NopPruner())


def test_objective_trains_and_reports_every_epoch(tiny_data) -> None:
    s = study()
    s.optimize(make_objective(tiny_data, TINY, seed=0), n_trials=2)
    for trial in s.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        steps = trial.intermediate_values
        assert sorted(steps) == list(range(1, trial.params["epochs"] + 1))
        assert trial.value == steps[trial.params["epochs"]]  # the score is the last epoch's val acc
        assert 0.3 < trial.value <= 1.0  # trained: well above chance (0.1) after 2 epochs
    again = study()
    again.optimize(make_objective(tiny_data, TINY, seed=0), n_trials=2)
    assert [t.value for t in again.trials] == [t.value for t in s.trials]  # seeded


def test_pruned_trial_stops_after_first_epoch(tiny_data) -> None:
    s = study(pruner=AlwaysPrune())
    objective = make_objective(tiny_data, TINY, seed=0)
    with pytest.raises(optuna.TrialPruned):
        objective(s.ask())
    s.optimize(objective, n_trials=1)
    trial = s.trials[-1]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [1]


def test_a_diverged_run_scores_its_broken_model(tiny_data) -> None:
    wild = SearchSpace(lr=(1e4, 1e4), epochs=(1, 1), num_layers=(2, 2), num_hiddens=(32,), base=BASE)
    s = study()
    s.optimize(make_objective(tiny_data, wild, seed=0), n_trials=1)
    assert s.trials[0].state == optuna.trial.TrialState.COMPLETE
    assert 0.0 <= s.trials[0].value < 0.5


def test_suggestions_stay_inside_the_space() -> None:
    seen = []

    def record(trial: optuna.Trial) -> float:
        settings = Settings(**TINY.suggest(trial))  # every suggestion is a valid Settings
        seen.append(settings)
        return 0.0

    study(sampler=optuna.samplers.TPESampler(seed=1, n_startup_trials=5)).optimize(record, n_trials=30)
    for s in seen:
        assert 0.05 <= s.lr <= 0.5 and 2 <= s.epochs <= 3 and 1 <= s.num_layers <= 2
        assert s.num_hiddens in (16, 32)
        assert (s.init, s.schedule, s.batch_size) == ("kaiming", "linear", 128)  # from base
    assert len({s.num_hiddens for s in seen}) == 2 and len({s.num_layers for s in seen}) == 2


def test_grid_sampler_walks_the_grid_through_suggest() -> None:
    grid = {"lr": [0.1, 0.3], "epochs": [2], "num_layers": [1], "num_hiddens": [16, 32]}
    s = study(sampler=optuna.samplers.GridSampler(grid, seed=0))
    s.optimize(lambda trial: Settings(**TINY.suggest(trial)).lr, n_trials=4)
    assert {(t.params["lr"], t.params["num_hiddens"]) for t in s.trials} == {(0.1, 16), (0.1, 32), (0.3, 16), (0.3, 32)}
    assert s.best_params["lr"] == 0.3 and BASE.replace(**s.best_params).lr == 0.3


def test_space_json_round_trip() -> None:
    assert SearchSpace.from_json(TINY.to_json()) == TINY


def test_workers_fill_one_journal_study(tmp_path) -> None:
    journal = tmp_path / "journal.log"
    one_epoch = SearchSpace(lr=(0.05, 0.5), epochs=(1, 1), num_layers=(1, 1), num_hiddens=(16,), base=BASE)
    command = [sys.executable, "-m", "mlp_utils.search", "--storage", str(journal), "--study", "shared",
               "--trials", "2", "--space", one_epoch.to_json(), "--validation-size", "256", "--num-train", "512"]
    workers = [subprocess.Popen(command + ["--worker", name, "--seed", str(seed)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for seed, name in enumerate(["A", "B"])]
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        assert "ran 2 trial(s)" in out
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    assert len(trials) == 4
    assert sorted(t.user_attrs["worker"] for t in trials) == ["A", "A", "B", "B"]
    assert all(t.state == optuna.trial.TrialState.COMPLETE and t.params["num_hiddens"] == 16 for t in trials)


def _no_val() -> FashionMNIST:
    return FashionMNIST(batch_size=128, device="cpu", num_train=256)


@pytest.mark.parametrize("make, match", [
    (lambda: make_objective(_no_val(), TINY), r"data must be a FashionMNIST with a validation split.*validation_size="),
    (lambda: make_objective(None, TINY), r"data must be a FashionMNIST"),
])
def test_argument_errors_name_the_argument_and_the_fix(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()
