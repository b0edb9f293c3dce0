"""The hyperparameter searches: counts, bests, reproducibility, shared storages, pruning, errors."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from mlp_utils import FashionMNIST  # noqa: E402
from mlp_utils.search import (  # noqa: E402
    SearchSpace, grid_search, load_result, make_objective, make_pruner, make_storage,
    optuna_search, random_search, retrain, train_settings,
)

ROOT = Path(__file__).resolve().parent.parent
TINY = SearchSpace(lr=(0.05, 0.5), epochs=(1, 2), num_layers=(1, 2), num_hiddens=(16, 32))


@pytest.fixture(scope="module")
def tiny_data() -> FashionMNIST:
    """1,024 training images and a 512-image validation split: a trial takes a fraction of a second."""
    return FashionMNIST(batch_size=128, device="cpu", validation_size=512, num_train=1024)


@pytest.fixture(scope="module")
def objective(tiny_data):
    return make_objective(tiny_data, TINY)


def test_grid_search_tries_every_combination(objective) -> None:
    grid = {"lr": [0.1, 0.3], "epochs": [1], "num_layers": [1], "num_hiddens": [16, 32]}
    result = grid_search(objective, grid, TINY)
    assert len(result.trials) == 4
    tried = {(t.params["lr"], t.params["num_hiddens"]) for t in result.trials}
    assert tried == {(0.1, 16), (0.1, 32), (0.3, 16), (0.3, 32)}
    assert result.best_value == max(t.value for t in result.trials)
    assert set(result.best_settings) == {"lr", "epochs", "num_layers", "num_hiddens", "batch_size",
                                        "schedule", "init"}
    assert len(result.best_so_far()) == 4 and result.best_so_far()[-1] == result.best_value


def test_random_search_is_reproducible(objective) -> None:
    first = random_search(objective, 3, seed=7, space=TINY)
    second = random_search(objective, 3, seed=7, space=TINY)
    assert len(first.trials) == 3
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert [t.value for t in first.trials] == [t.value for t in second.trials]
    assert 0.0 <= first.best_value <= 1.0
    assert random_search(objective, 3, seed=8, space=TINY).trials[0].params != first.trials[0].params


def test_optuna_search_in_memory(objective) -> None:
    result = optuna_search(objective, 4, seed=0, n_startup_trials=2, space=TINY)
    assert len(result.trials) == 4
    assert result.best_trial.state == optuna.trial.TrialState.COMPLETE
    assert all(t.user_attrs["seconds"] > 0 for t in result.trials)
    assert "val acc" in result.table()


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def test_pruned_trials_are_recorded_as_pruned(tiny_data) -> None:
    space = SearchSpace(lr=(0.1, 0.1), epochs=(2, 2), num_layers=(1, 1), num_hiddens=(16,))
    result = optuna_search(make_objective(tiny_data, space), 2, pruner=AlwaysPrune(), space=space)
    assert result.num_pruned == 2
    for trial in result.trials:
        assert trial.state == optuna.trial.TrialState.PRUNED
        assert trial.user_attrs["stopped"] == "pruned" and trial.user_attrs["epochs_run"] == 1
        assert list(trial.intermediate_values) == [1]


def test_sqlite_url_storage(objective, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    optuna_search(objective, 1, storage=url, study_name="s", seed=1, space=TINY)
    optuna_search(objective, 1, storage=url, study_name="s", seed=2, space=TINY)
    assert len(load_result(url, "s").trials) == 2


def test_two_worker_processes_share_one_journal(tmp_path) -> None:
    journal = tmp_path / "journal.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    common = [sys.executable, "-m", "mlp_utils.search", "--storage", str(journal), "--study", "shared",
              "--trials", "2", "--validation-size", "256", "--num-train", "512", "--epochs", "1", "1",
              "--layers", "1", "1", "--hiddens", "16", "--pruner", "none"]
    workers = [subprocess.Popen(common + ["--worker", name, "--seed", str(seed)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for seed, name in enumerate(["a", "b"])]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert "ran 2 trial(s)" in out
    result = load_result(journal, "shared")
    assert len(result.trials) == 4
    assert sorted(t.user_attrs["worker"] for t in result.trials) == ["a", "a", "b", "b"]


def test_train_settings_reports_each_epoch(tiny_data) -> None:
    seen = []
    settings = {"lr": 0.1, "epochs": 2, "num_layers": 1, "num_hiddens": 16, "batch_size": 64}
    model, history = train_settings(tiny_data, settings, on_epoch=lambda e, acc: seen.append(e))
    assert seen == [1, 2] and [r.epoch for r in history.records] == [1, 2]
    assert model.hidden_sizes == (16,)


def test_diverged_trials_still_score(tiny_data) -> None:
    space = SearchSpace(lr=(1e4, 1e4), epochs=(2, 2), num_layers=(2, 2), num_hiddens=(32,))
    result = random_search(make_objective(tiny_data, space), 1, space=space)
    trial = result.trials[0]
    assert trial.user_attrs["stopped"] == "diverged" and 0.0 <= trial.value <= 1.0


@pytest.mark.parametrize("call", [
    lambda obj: random_search(obj, 0, space=TINY),
    lambda obj: optuna_search(obj, 0, space=TINY),
    lambda obj: optuna_search(obj, 2, storage="journal.log", study_name=None, space=TINY),
    lambda obj: grid_search(obj, {"lr": [0.1], "epochs": [1]}, TINY),
    lambda obj: grid_search(obj, {"lr": [5.0], "epochs": [1], "num_layers": [1], "num_hiddens": [16]}, TINY),
    lambda obj: grid_search(obj, {"lr": [], "epochs": [1], "num_layers": [1], "num_hiddens": [16]}, TINY),
    lambda obj: make_pruner("sometimes"),
    lambda obj: make_storage(""),
    lambda obj: make_storage(42),
    lambda obj: SearchSpace(lr=(0.5, 0.1)),
    lambda obj: SearchSpace(epochs=(0, 3)),
    lambda obj: SearchSpace(num_hiddens=()),
])
def test_bad_arguments_raise_value_error(objective, call) -> None:
    with pytest.raises(ValueError):
        call(objective)


def test_objective_needs_a_validation_split(small_data) -> None:
    with pytest.raises(ValueError, match="validation"):
        make_objective(small_data)


def test_storage_kinds(tmp_path) -> None:
    assert make_storage(None) is None
    assert isinstance(make_storage(tmp_path / "j.log"), optuna.storages.JournalStorage)
    assert isinstance(make_storage(f"sqlite:///{tmp_path / 'x.db'}"), optuna.storages.RDBStorage)


def test_worker_rejects_bad_trial_count() -> None:
    from mlp_utils.search import main

    with pytest.raises(SystemExit):
        main(["--storage", "x.log", "--study", "s", "--trials", "0"])


def test_retrain_signature_is_documented() -> None:
    assert "test set once" in retrain.__doc__
