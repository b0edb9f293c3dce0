"""mlp_utils.answers: cmp names each typical mistake, passes the right answer; the ex5 objective check."""
from __future__ import annotations

import optuna
import pytest
import torch

import mlp_utils
from mlp_utils import AnswerError, Settings, cmp, course_seed, todo
from mlp_utils.answers import check_objective
from mlp_utils.search import SearchSpace, make_objective

X = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
RELU = X.clamp(min=0)


def test_cmp_passes_the_right_answer(capsys):
    cmp("relu", torch.max(X, torch.zeros_like(X)), RELU)
    assert "✓ relu: matches the reference (exactly)" in capsys.readouterr().out
    cmp("close", RELU + 1e-7, RELU)
    assert "largest difference" in capsys.readouterr().out


@pytest.mark.parametrize("yours, words", [
    (torch.max(X, 0), ["pair of tensors", "torch.max(X, 0)", "zeros_like"]),
    (torch.max(X, 0).values, ["Dimension 0 is missing", "reduction"]),
    (torch.max(X, 0, keepdim=True).values, ["Dimension 0 has size 1", "keepdim=True"]),
    (RELU.T, ["transpose"]),
    (RELU.flatten(), ["Same number of entries", "reshape"]),
    (-RELU, ["wrong sign"]),
    (RELU / 5, ["times 0.2", "1/5", "batch size"]),
    (RELU * float("nan"), ["NaN or infinite"]),
    (None, ["returned None"]),
    ([1.0, 2.0], ["expected a tensor", "list"]),
    (RELU[:3], ["batch dimension differs"]),
])
def test_cmp_names_the_mistake(yours, words):
    with pytest.raises(AnswerError) as caught:
        cmp("relu", yours, RELU)
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_cmp_reports_the_first_wrong_entry():
    wrong = RELU.clone()
    wrong[1, 3] += 1
    with pytest.raises(AnswerError, match=r"1 of 20 entries differ; the first at index \(1, 3\)"):
        cmp("relu", wrong, RELU)


def test_cmp_exact_and_bad_reference():
    with pytest.raises(AnswerError):
        cmp("x", RELU + 1e-7, RELU, exact=True)
    with pytest.raises(TypeError, match="reference must be a tensor"):
        cmp("x", RELU, [1, 2])


def test_cmp_calls_the_readers_function_on_copies(capsys):
    cmp("relu", lambda Z: Z.clamp(min=0), lambda Z: torch.relu(Z), X)
    assert "✓ relu" in capsys.readouterr().out

    def in_place(Z):
        Z[Z < 0] = 0
        return Z

    before = X.clone()
    with pytest.raises(AnswerError, match="changed its input 1 in place"):
        cmp("relu", in_place, RELU, X)
    assert torch.equal(X, before), "the caller's tensor must not change"
    with pytest.raises(AnswerError, match="pass your function itself"):
        from mlp_utils.answers import attempt
        attempt("relu", RELU)


def test_an_unwritten_stub_is_reported_in_one_line_without_raising(capsys):
    def relu(Z):
        raise todo("return Z.clamp(min=0)")

    cmp("relu", relu, RELU, X)
    assert capsys.readouterr().out.startswith("○ relu: not written yet")
    # a NotImplementedError of the reader's own making is not a stub: it propagates
    def broken(Z):
        raise NotImplementedError("mine")

    with pytest.raises(NotImplementedError, match="mine"):
        cmp("relu", broken, RELU, X)


def test_todo_is_a_not_implemented_error_with_the_hint():
    error = todo("return X.clamp(min=0)")
    assert isinstance(error, NotImplementedError) and "X.clamp(min=0)" in str(error)


@pytest.fixture(scope="module")
def tiny_search(small_data):
    from mlp_utils import FashionMNIST

    data = FashionMNIST(batch_size=128, validation_size=500, num_train=1_000, device="cpu")
    space = SearchSpace(lr=(0.01, 1.0), epochs=(1, 1), num_layers=(1, 2), num_hiddens=(16, 32),
                        base=Settings(init="kaiming", batch_size=128))
    return data, space, make_objective(data, space)


def _objective(data, space, log=True, seed=None, names=("lr", "epochs", "num_layers", "num_hiddens")):
    def objective(trial):
        values = {"lr": trial.suggest_float("lr", *space.lr, log=log),
                  "epochs": trial.suggest_int("epochs", *space.epochs),
                  "num_layers": trial.suggest_int("num_layers", *space.num_layers),
                  "num_hiddens": trial.suggest_categorical("num_hiddens", list(space.num_hiddens))}
        settings = space.base.replace(**{k: v for k, v in values.items() if k in names})
        return mlp_utils.train(settings, data, course_seed() if seed is None else seed).acc
    return objective


PARAMS = {"lr": 0.1, "epochs": 1, "num_layers": 1, "num_hiddens": 16}


def test_check_objective_passes_the_right_objective(tiny_search, capsys):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data, space, reference = tiny_search
    check_objective(_objective(data, space), reference, PARAMS)
    assert "✓ objective" in capsys.readouterr().out


@pytest.mark.parametrize("options, words", [
    ({"log": False}, ["log=True"]),
    ({"seed": 12345}, ["scored", "same seed"]),
    ({"names": ("lr",)}, ["scored"]),
    # every suggestion but the learning rate passed on: at lr 0.1, the base's own rate, the
    # first fixed trial cannot tell; the second, with every value moved, can
    ({"names": ("epochs", "num_layers", "num_hiddens")}, ["scored"]),
])
def test_check_objective_names_the_mistake(tiny_search, options, words):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data, space, reference = tiny_search
    with pytest.raises(AnswerError) as caught:
        check_objective(_objective(data, space, **options), reference, PARAMS)
    for word in words:
        assert word in str(caught.value)


def test_an_unwritten_objective_is_reported_not_raised(tiny_search, capsys):
    data, space, reference = tiny_search

    def objective(trial):
        raise todo("write the objective")

    check_objective(objective, reference, PARAMS)
    assert "objective: not written yet" in capsys.readouterr().out


def test_check_objective_names_a_missing_suggestion(tiny_search):
    data, space, reference = tiny_search

    def objective(trial):
        return mlp_utils.train(space.base.replace(lr=trial.suggest_float("lr", *space.lr, log=True)),
                               data, course_seed()).acc

    with pytest.raises(AnswerError, match="missing"):
        check_objective(objective, reference, PARAMS)
    with pytest.raises(AnswerError, match="pass your objective function"):
        check_objective(0.5, reference, PARAMS)
