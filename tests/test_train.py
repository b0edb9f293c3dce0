"""The trainer: it learns, it is deterministic, and it stops cleanly on NaN and on Ctrl-C."""
from __future__ import annotations

import math

import pytest
import torch

from mlp_utils import MLP, MLPScratch, Trainer, pick_device
from mlp_utils.backprop import ManualMLP
from mlp_utils.trainer import Callback, History, LRSchedule, OnEpoch


def test_fit_returns_a_history_and_learns(small_data):
    model = MLPScratch(784, 10, 256, lr=0.1)
    history = Trainer(max_epochs=3, progress=False).fit(model, small_data)
    assert isinstance(history, History) and len(history) == 3 and history.stopped is None
    assert [r.epoch for r in history.records] == [1, 2, 3]
    assert history.train_loss[-1] < history.train_loss[0] < math.log(10) + 0.01
    assert history.final_acc > 0.5
    assert all(s > 0 for s in history.column("seconds"))
    assert "test acc" in history.table() and history.split == "test"


def test_same_loop_fits_the_concise_model(small_data):
    torch.manual_seed(0)
    history = Trainer(max_epochs=2, progress=False).fit(
        MLP(num_outputs=10, num_hiddens=64, lr=0.1), small_data)
    assert history.final_acc > 0.5


def test_two_seeded_runs_are_identical_on_cpu(small_data):
    def run():
        torch.manual_seed(3)
        model = MLPScratch(784, 10, 64, lr=0.1)
        return Trainer(max_epochs=2, device="cpu", progress=False).fit(model, small_data)

    first, second = run(), run()
    assert first.train_loss == second.train_loss
    assert first.eval_acc == second.eval_acc
    # the concise model's lazy layers are initialized inside fit, from the current random state
    def concise():
        torch.manual_seed(5)
        return Trainer(max_epochs=1, progress=False).fit(MLP(10, 32, 0.1), small_data)

    assert concise().train_loss == concise().train_loss


def test_bad_device_is_explained():
    with pytest.raises(ValueError, match="device"):
        Trainer(max_epochs=1, device="nonsense")
    if torch.accelerator.current_accelerator(check_available=True) is None:
        with pytest.raises(ValueError, match="cannot run on it .it has no accelerator"):
            pick_device("cuda")
        assert pick_device() == torch.device("cpu")
    else:
        assert pick_device() == torch.accelerator.current_accelerator()
    assert pick_device("meta") == torch.device("meta")  # shapes without data, on every machine


def test_nan_stops_at_that_step_and_keeps_history(small_data):
    model = MLPScratch(784, 10, 256, lr=1e10, sigma=1.0)
    with pytest.warns(RuntimeWarning, match=r"at epoch 1, step \d+.*lower learning rate"):
        history = Trainer(max_epochs=5, progress=False).fit(model, small_data)
    assert history.stopped == "diverged"
    assert len(history) == 0 and "epoch 1" in history.message


def test_nan_in_a_later_epoch_keeps_the_earlier_epochs(small_data):
    class PoisonAfter(MLPScratch):
        """Behaves normally for ``good_steps`` steps, then returns a NaN loss."""

        def __init__(self, good_steps: int) -> None:
            super().__init__(784, 10, 32, lr=0.1)
            self.good_steps = good_steps
            self.steps = 0

        def training_step(self, batch):
            self.steps += 1
            loss = super().training_step(batch)
            return loss * math.nan if self.steps > self.good_steps else loss

    steps_per_epoch = len(small_data.train_dataloader())
    model = PoisonAfter(good_steps=2 * steps_per_epoch + 3)
    with pytest.warns(RuntimeWarning, match="epoch 3, step 4"):
        history = Trainer(max_epochs=5, progress=False).fit(model, small_data)
    assert len(history) == 2 and history.stopped == "diverged"
    assert all(math.isfinite(v) for v in history.train_loss)


def test_ctrl_c_returns_what_was_trained(small_data, capsys):
    class InterruptAfter(MLPScratch):
        def __init__(self, steps: int) -> None:
            super().__init__(784, 10, 32, lr=0.1)
            self.remaining = steps

        def training_step(self, batch):
            self.remaining -= 1
            if self.remaining < 0:
                raise KeyboardInterrupt
            return super().training_step(batch)

    steps_per_epoch = len(small_data.train_dataloader())
    model = InterruptAfter(steps=steps_per_epoch + 5)
    before = model.W1.detach().clone()
    history = Trainer(max_epochs=4, progress=False).fit(model, small_data)
    assert history.stopped == "interrupted" and len(history) == 1
    assert "Interrupted during epoch 2" in capsys.readouterr().out
    assert not torch.equal(before, model.W1.detach())  # the trained weights are kept


def test_fit_rejects_a_model_without_the_classifier_interface(small_data):
    with pytest.raises(TypeError, match="training_step"):
        Trainer(max_epochs=1, progress=False).fit(torch.nn.Linear(784, 10), small_data)


def test_lr_scheduler_steps_once_per_epoch_and_on_epoch_sees_each_record(small_data):
    optimizers, epochs_seen = [], []
    model = MLPScratch(784, 10, 32, lr=0.4)

    def on_epoch(record):
        epochs_seen.append(record.epoch)

    trainer = Trainer(max_epochs=3, progress=False, callbacks=[LRSchedule(lambda finished: 0.5 ** finished), OnEpoch(on_epoch)])

    original_configure = model.configure_optimizers

    def configure():
        optimizer = original_configure()
        optimizers.append(optimizer)
        return optimizer

    model.configure_optimizers = configure
    history = trainer.fit(model, small_data)
    assert epochs_seen == [1, 2, 3] and len(history) == 3
    assert optimizers[0].param_groups[0]["lr"] == pytest.approx(0.4 * 0.5 ** 3)


def test_an_exception_from_on_epoch_stops_training(small_data):
    class Stop(Exception):
        pass

    def stop_after_two(record):
        if record.epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        Trainer(max_epochs=5, progress=False, callbacks=[OnEpoch(stop_after_two)]).fit(
            MLPScratch(784, 10, 32, lr=0.1), small_data)


def test_the_same_loop_trains_the_hand_written_model(small_data):
    """ManualMLP has no autograd: the trainer calls its train_step and keeps it on its device."""
    manual = ManualMLP([784, 64, 10], seed=0, lr=0.1, device="cpu")
    history = Trainer(max_epochs=2, progress=False).fit(manual, small_data)
    assert len(history) == 2 and history.stopped is None
    assert history.train_loss[1] < history.train_loss[0] and history.final_acc > 0.25
    # the same initial weights and batches through autograd give the same curve (float32 rounding)
    twin = MLPScratch(784, 10, 64, lr=0.1)
    with torch.no_grad():
        for p, q in zip(twin.parameters(), ManualMLP([784, 64, 10], seed=0, lr=0.1, device="cpu").params):
            p.copy_(q)
    reference = Trainer(max_epochs=2, progress=False).fit(twin, small_data)
    assert history.train_loss == pytest.approx(reference.train_loss, rel=1e-4)


def test_a_hand_written_model_that_diverges_stops_like_any_other(small_data):
    manual = ManualMLP([784, 64, 10], sigma=1.0, lr=1e10, device="cpu")
    with pytest.warns(RuntimeWarning, match="epoch 1, step"):
        history = Trainer(max_epochs=3, progress=False).fit(manual, small_data)
    assert history.stopped == "diverged" and len(history) == 0
    assert all(torch.isfinite(p).all() for p in manual.params)  # the broken step was not applied


def test_callback_hooks_run_in_order_and_fit_end_runs_even_after_an_exception(small_data):
    calls = []

    class Recorder(Callback):
        def on_fit_start(self, trainer):
            calls.append(("start", trainer.steps_per_epoch, trainer.optimizer is not None))

        def on_step_end(self, trainer, loss):
            calls.append("step")

        def on_epoch_end(self, trainer, record):
            calls.append(("epoch", record.epoch))
            if record.epoch == 2:
                raise ValueError("stop here")

        def on_fit_end(self, trainer):
            calls.append("end")

    steps = len(small_data.train_dataloader())
    with pytest.raises(ValueError, match="stop here"):
        Trainer(max_epochs=4, progress=False, callbacks=[Recorder()]).fit(MLPScratch(784, 10, 32, lr=0.1), small_data)
    assert calls[0] == ("start", steps, True) and calls[-1] == "end"
    assert calls.count("step") == 2 * steps and [c for c in calls if isinstance(c, tuple)][1:] == [("epoch", 1), ("epoch", 2)]


def test_callbacks_must_be_callback_objects():
    with pytest.raises(TypeError, match="OnEpoch"):
        Trainer(max_epochs=1, callbacks=[print])


def test_the_history_names_the_split_it_measured():
    from mlp_utils import FashionMNIST

    data = FashionMNIST(batch_size=512, device="cpu", validation_size=1000, num_train=2048)
    history = Trainer(max_epochs=1, progress=False).fit(MLPScratch(784, 10, 16, lr=0.1), data)
    assert history.split == "val" and "val acc" in history.table()


def test_the_trainer_module_and_the_train_function_live_side_by_side():
    """`mlp_utils.train` is the function; the module of the Trainer is `mlp_utils.trainer`, so
    importing one never hides the other."""
    import importlib

    import mlp_utils
    import mlp_utils.trainer as trainer_module

    assert callable(mlp_utils.train) and mlp_utils.train.__module__ == "mlp_utils.experiments"
    assert trainer_module.Trainer is mlp_utils.Trainer
    assert importlib.import_module("mlp_utils.trainer").Callback is mlp_utils.Callback


def test_a_trainer_refuses_a_number_of_epochs_a_learner_mistyped():
    for wrong in (0, -1, 2.5, "3"):
        with pytest.raises((ValueError, TypeError), match="max_epochs"):
            Trainer(max_epochs=wrong)
