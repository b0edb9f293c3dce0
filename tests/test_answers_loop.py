"""The training loop of chapter 5, checked against Trainer.fit: every right loop here must pass,
every wrong one must be refused with a message that names the mistake and points at the fix."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mlp_utils import Trainer, evaluate, pick_device
from mlp_utils.answers import AnswerError, check_training_loop, todo
from mlp_utils.answers.chapters import _LoopData
from mlp_utils.answers.chapters import _LOOP_EPOCHS, _LOOP_OTHER_EPOCHS, _LOOP_SEED, _loop_model


def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()


def accuracy(model, data):
    """The fraction of test images classified correctly: evaluation mode, no autograd."""
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for X, y in data.test_dataloader():
            correct += (model(X).argmax(dim=1) == y).sum().item()
            count += len(y)
    return correct / count


# ---- right loops ------------------------------------------------------------------------------

def loop_solution(model, data, num_epochs):
    params = list(model.parameters())
    accuracies = []
    for epoch in range(1, num_epochs + 1):
        model.train()
        for X, y in data.train_dataloader(epoch):
            loss = model.loss(model(X), y)
            loss.backward()
            sgd_step(params, model.lr)
        accuracies.append(accuracy(model, data))
    return accuracies


def loop_torch_optimizer(model, data, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=model.lr)
    accuracies = []
    for epoch in range(1, num_epochs + 1):
        model.train()
        for X, y in data.train_dataloader(epoch):
            loss = F.cross_entropy(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        accuracies.append(evaluate(model, data.test_dataloader())[1])  # the package's evaluation
    return accuracies


def loop_zero_first_inline_update(model, data, num_epochs):
    accuracies = []
    for epoch in range(num_epochs):
        model.train()
        for X, y in data.train_dataloader(epoch + 1):
            model.zero_grad()
            model.training_step((X, y)).backward()
            with torch.no_grad():
                for p in model.parameters():
                    p.sub_(model.lr * p.grad)
        model.eval()
        predictions = model.predict(data.X_test)  # the whole test set at once, predict() has no_grad
        accuracies.append((predictions == data.y_test).float().mean())  # a 0-d tensor
    return accuracies


def loop_set_to_none_tensor_result(model, data, num_epochs):
    accuracies = torch.zeros(num_epochs)
    for epoch in range(1, num_epochs + 1):
        model.train()
        for X, y in data.train_dataloader(epoch):
            logits = model(X)
            loss = -logits.log_softmax(dim=1)[torch.arange(len(y)), y].mean()  # cross-entropy by hand
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= model.lr * p.grad
                    p.grad = None
        with torch.no_grad():
            model.eval()
            hits = sum((model(X).argmax(1) == y).sum() for X, y in data.test_dataloader())
        accuracies[epoch - 1] = hits / len(data.y_test)
    return accuracies


device = pick_device()  # as the notebook's global: the data module's batches already live there


def loop_inference_mode_numpy(model, data, num_epochs):
    """torch.inference_mode() for the evaluation, accuracies computed with numpy, and the batches moved
    to the notebook's device (where they already are)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=model.lr)
    accuracies = []
    for epoch in range(1, num_epochs + 1):
        model.train()
        for X, y in data.train_dataloader(epoch):
            X, y = X.to(device), y.to(device)
            optimizer.zero_grad()
            model.loss(model(X), y).backward()
            optimizer.step()
        model.eval()
        predictions, labels = [], []
        with torch.inference_mode():
            for X, y in data.test_dataloader():
                predictions.append(model(X.to(device)).argmax(dim=1).cpu().numpy())
                labels.append(y.cpu().numpy())
        accuracies.append(np.mean(np.concatenate(predictions) == np.concatenate(labels)))  # a numpy float64
    return accuracies


def loop_float32_fraction(model, data, num_epochs):
    """The fraction as a float32 tensor computed over the whole test set at once."""
    params = list(model.parameters())
    accuracies = []
    for epoch in range(1, num_epochs + 1):
        model.train()
        for X, y in data.train_dataloader(epoch):
            model.loss(model(X), y).backward()
            sgd_step(params, model.lr)
        model.eval()
        with torch.no_grad():
            X_all = torch.cat([X for X, _ in data.test_dataloader()])
            y_all = torch.cat([y for _, y in data.test_dataloader()])
            accuracies.append((model(X_all).argmax(1) == y_all).float().mean().item())
    return accuracies


@pytest.mark.parametrize("right", [loop_solution, loop_torch_optimizer, loop_zero_first_inline_update,
                                   loop_set_to_none_tensor_result, loop_inference_mode_numpy,
                                   loop_float32_fraction])
def test_check_training_loop_accepts_right_loops(right, capsys):
    check_training_loop(right)
    assert "✓ train: the same parameters as Trainer.fit" in capsys.readouterr().out


def test_an_unwritten_loop_is_reported_not_raised(capsys):
    def stub(model, data, num_epochs):
        raise todo("write the loop")

    check_training_loop(stub)
    assert "○ train: not written yet" in capsys.readouterr().out


def test_a_loop_that_calls_an_unwritten_sgd_step_names_sgd_step(capsys):
    """The loop is written, the SGD step it calls is still the stub: the check says which fill-in is missing."""
    def sgd_step(params, lr):  # noqa: F811 - the stub of the notebook's first fill-in
        raise todo("update every parameter in place, then zero the .grad")

    def train(model, data, num_epochs):
        params, accuracies = list(model.parameters()), []
        for epoch in range(1, num_epochs + 1):
            model.train()
            for X, y in data.train_dataloader(epoch):
                model.loss(model(X), y).backward()
                sgd_step(params, model.lr)
            accuracies.append(accuracy(model, data))
        return accuracies

    check_training_loop(train)
    out = capsys.readouterr().out
    assert "○ train: your loop calls sgd_step, which is not written yet" in out and "write sgd_step first" in out, out


def test_loop_data_training_loss_falls_while_test_accuracy_moves():
    """What _LoopData's docstring says of the check's runs: the training loss falls every epoch, and the
    test accuracy does not rise every epoch."""
    data = _LoopData()
    model = _loop_model(_LOOP_SEED, data)
    history = Trainer(max_epochs=_LOOP_EPOCHS, device="cpu", progress=False).fit(model, data)
    losses, accuracies = history.train_loss, history.eval_acc
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert any(b < a for a, b in zip(accuracies, accuracies[1:]))


def test_the_check_leaves_the_callers_random_numbers_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_training_loop(loop_solution)
    assert torch.equal(torch.rand(3), expected)


def test_the_check_compares_with_what_trainer_fit_ends_with():
    """The reference is Trainer.fit itself: the solution's parameters agree with a fit from the same
    seed to float32 rounding, and differ from a fit of one epoch fewer."""
    data = _LoopData()
    fitted = _loop_model(_LOOP_SEED, data)
    Trainer(max_epochs=_LOOP_EPOCHS, device="cpu", progress=False).fit(fitted, data)
    shorter = _loop_model(_LOOP_SEED, data)
    Trainer(max_epochs=_LOOP_EPOCHS - 1, device="cpu", progress=False).fit(shorter, data)
    mine = _loop_model(_LOOP_SEED, data)
    loop_solution(mine, data, _LOOP_EPOCHS)
    for p, q, r in zip(mine.parameters(), fitted.parameters(), shorter.parameters()):
        assert torch.allclose(p, q, atol=1e-5, rtol=1e-4)
    assert not all(torch.allclose(p, r, atol=1e-3) for p, r in zip(mine.parameters(), shorter.parameters()))


def test_loop_data_shuffles_like_fashion_mnist_and_ends_epochs_with_a_small_batch():
    data = _LoopData()
    sizes = [len(y) for _, y in data.train_dataloader(1)]
    assert sizes == [64, 64, 64, 8]
    first, second = (torch.cat([y for _, y in data.train_dataloader(e)]) for e in (1, 2))
    assert not torch.equal(first, second) and torch.equal(first.sort().values, second.sort().values)
    assert torch.equal(torch.cat([y for _, y in data.test_dataloader()]), data.y_test)


# ---- wrong loops ------------------------------------------------------------------------------

def make_loop(*, epochs=None, order="epoch", zero=True, step_first=False, zero_between=False, loss_sum=False,
              lr=None, train_mode=True, eval_mode=True, no_grad=True, on_test=False, train_no_grad=False,
              when="after", returns="list"):
    """A loop like the solution, with one thing changed."""
    def loop(model, data, num_epochs):
        params = list(model.parameters())
        rate = model.lr if lr is None else lr
        fixed = data.train_dataloader(1)
        result = []
        numbers = {"epoch": range(1, num_epochs + 1), "from0": range(num_epochs),
                   "short": range(1, num_epochs)}[order if order in ("from0", "short") else "epoch"]
        if epochs is not None:
            numbers = range(1, epochs + 1)

        def measure():
            if eval_mode:
                model.eval()
            with (torch.no_grad() if no_grad else torch.enable_grad()):
                hits = sum((model(X).argmax(1) == y).sum().item() for X, y in data.test_dataloader())
            return hits / len(data.y_test)

        for epoch in numbers:
            if when == "before":
                result.append(measure())
            if train_mode:
                model.train()
            batches = (data.test_dataloader() if on_test else fixed if order == "fixed"
                       else data.train_dataloader() if order == "none" else data.train_dataloader(epoch))
            for X, y in batches:
                with (torch.no_grad() if train_no_grad else torch.enable_grad()):
                    loss = F.cross_entropy(model(X), y, reduction="sum" if loss_sum else "mean")
                if step_first:
                    sgd_step(params, rate)
                loss.backward()
                if zero_between:
                    model.zero_grad(set_to_none=zero_between == "none")
                if not step_first:
                    with torch.no_grad():
                        for p in params:
                            p -= rate * p.grad
                            if zero:
                                p.grad = None
            if when == "after":
                result.append(measure())
        if when == "end":
            result = [measure()]
        return {"list": result, "none": None, "last": result[-1] if result else None,
                "percent": [100 * a for a in result],
                "count": [round(a * len(data.y_test)) for a in result]}[returns]
    return loop


@pytest.mark.parametrize("wrong, words", [
    (make_loop(zero=False), "never reset: backward\\(\\) adds to .grad"),
    (make_loop(step_first=True), "came before loss.backward\\(\\)"),
    (make_loop(zero_between="zeros"), "did not change.*zero them after the step or before"),
    (make_loop(zero_between="none"), "reset between backward\\(\\) and the step"),
    (make_loop(epochs=1), "one epoch only.*range\\(1, num_epochs \\+ 1\\)"),
    (make_loop(order="short"), "2 epochs, not 3: range\\(1, num_epochs\\) stops before"),
    (make_loop(order="from0"), "numbered from 0.*range\\(1, num_epochs \\+ 1\\)"),
    (make_loop(order="none"), "same order: ask for each epoch's own shuffle"),
    (make_loop(order="fixed"), "minibatches of epoch 1, in the same order"),
    (make_loop(on_test=True), "trained on the test batches"),
    (make_loop(loss_sum=True), "mean"),
    (make_loop(lr=0.1), "learning rate of 0.1 where the model's is 0.2: use model.lr"),
    (make_loop(train_mode=False), "steps ran in evaluation mode.*model.train\\(\\)"),
    (make_loop(train_mode=False, eval_mode=False), "steps ran in evaluation mode.*model.train\\(\\)"),
    (make_loop(eval_mode=False), "test batches ran in training mode: call model.eval\\(\\)"),
    (make_loop(no_grad=False), "autograd on.*torch.no_grad\\(\\)"),
    (make_loop(train_no_grad=True), "no graph.*Only the evaluation belongs"),
    (make_loop(returns="none"), "returned None"),
    (make_loop(returns="last"), "returned one number"),
    (make_loop(when="end"), "evaluated once, at the end"),
    (make_loop(when="before"), "before its epoch's steps"),
    (make_loop(returns="percent"), "in percent"),
    (make_loop(returns="count"), "numbers of correct predictions"),
])
def test_check_training_loop_names_the_mistake(wrong, words):
    with pytest.raises(AnswerError, match=words):
        check_training_loop(wrong)


def test_a_loop_that_evaluates_on_the_training_set_is_refused():
    def loop(model, data, num_epochs):
        result = loop_solution(model, data, num_epochs)
        model.eval()
        with torch.no_grad():
            return [(model(data.X_train).argmax(1) == data.y_train).float().mean().item()] * len(result)

    def only_train_set(model, data, num_epochs):  # the solution, with the test batches swapped
        params, result = list(model.parameters()), []
        for epoch in range(1, num_epochs + 1):
            model.train()
            for X, y in data.train_dataloader(epoch):
                model.loss(model(X), y).backward()
                sgd_step(params, model.lr)
            model.eval()
            with torch.no_grad():
                result.append((model(data.X_train).argmax(1) == data.y_train).float().mean().item())
        return result

    with pytest.raises(AnswerError, match="after epoch 1 your test accuracy"):
        check_training_loop(loop)
    with pytest.raises(AnswerError, match="never ran on the test batches"):
        check_training_loop(only_train_set)


def test_check_training_loop_wants_a_function():
    with pytest.raises(AnswerError, match="pass your function itself"):
        check_training_loop([0.8, 0.8, 0.8])


# ---- shortcuts and holes: each refused with a hint that leads to the written-out loop -------------

def loop_trainer_shortcut(model, data, num_epochs):
    return Trainer(max_epochs=num_epochs, progress=False).fit(model, data).eval_acc


def loop_fixed_epochs(model, data, num_epochs):
    return loop_solution(model, data, 3)  # num_epochs ignored: right only when it is 3


def with_accuracy(measure):
    """The solution's loop with another way of computing the accuracy after each epoch."""
    def loop(model, data, num_epochs):
        params, result = list(model.parameters()), []
        for epoch in range(1, num_epochs + 1):
            model.train()
            for X, y in data.train_dataloader(epoch):
                model.loss(model(X), y).backward()
                sgd_step(params, model.lr)
            model.eval()
            with torch.no_grad():
                result.append(measure(model, data))
        return result
    return loop


def one_image_too_many(model, data):
    correct = sum((model(X).argmax(1) == y).sum().item() for X, y in data.test_dataloader())
    return correct / (len(data.y_test) + 1)


def last_image_dropped(model, data):
    return (model(data.X_test[:-1]).argmax(1) == data.y_test[:-1]).float().mean().item()


def mean_of_batch_accuracies(model, data):
    return float(np.mean([(model(X).argmax(1) == y).float().mean().item() for X, y in data.test_dataloader()]))


@pytest.mark.parametrize("wrong, words", [
    (loop_trainer_shortcut, "calls Trainer.fit.*asks for the loop written out.*range\\(1, num_epochs \\+ 1\\)"),
    (loop_fixed_epochs, f"right for num_epochs={_LOOP_EPOCHS} but not for num_epochs={_LOOP_OTHER_EPOCHS}.*"
                        "with the argument num_epochs.*trained for 3 epochs when num_epochs = 2"),
    (with_accuracy(one_image_too_many), "classify \\d+ of the 120 test images right.*divided by the number of test images"),
    (with_accuracy(last_image_dropped), "classify \\d+ of the 120 test images right.*over all of data.test_dataloader"),
    (with_accuracy(mean_of_batch_accuracies), "averaged the accuracies of the test batches.*\\[64, 56\\].*"
                                              "divide by the number of test images"),
])
def test_check_training_loop_refuses_shortcuts_and_loose_accuracies(wrong, words):
    with pytest.raises(AnswerError, match=words):
        check_training_loop(wrong)


def test_the_accuracies_are_compared_below_one_image():
    """The holes above are small: one image more in the denominator changes an accuracy by less than one
    image's worth (1/120), so the check compares far below that."""
    data = _LoopData()
    model = _loop_model(_LOOP_SEED, data)
    model.eval()
    with torch.no_grad():
        exact = accuracy(model, data)
        assert 0 < abs(one_image_too_many(model, data) - exact) < 1 / len(data.y_test)
        assert 0 < abs(mean_of_batch_accuracies(model, data) - exact) < 1 / len(data.y_test)

