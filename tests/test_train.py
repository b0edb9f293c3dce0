"""The trainer: it learns, it is deterministic, and it stops cleanly on NaN and on Ctrl-C."""
from __future__ import annotations

import math

import pytest
import torch

from mlp_utils import MLP, MLPScratch, Trainer, pick_device
from mlp_utils.train import History


def test_fit_returns_a_history_and_learns(small_data):
    model = MLPScratch(784, 10, 256, lr=0.1)
    history = Trainer(max_epochs=3, progress=False, plot=False).fit(model, small_data)
    assert isinstance(history, History) and len(history) == 3 and history.stopped is None
    assert [r.epoch for r in history.records] == [1, 2, 3]
    assert history.train_loss[-1] < history.train_loss[0] < math.log(10) + 0.01
    assert history.final_val_acc > 0.5
    assert all(s > 0 for s in history.seconds)
    assert "val acc" in history.table()


def test_same_loop_fits_the_concise_model(small_data):
    history = Trainer(max_epochs=2, progress=False, plot=False, seed=0).fit(
        MLP(num_outputs=10, num_hiddens=64, lr=0.1), small_data)
    assert history.final_val_acc > 0.5


def test_two_seeded_runs_are_identical_on_cpu(small_data):
    def run():
        torch.manual_seed(3)
        model = MLPScratch(784, 10, 64, lr=0.1)
        return Trainer(max_epochs=2, device="cpu", progress=False, plot=False, seed=3).fit(model, small_data)

    first, second = run(), run()
    assert first.train_loss == second.train_loss
    assert first.val_acc == second.val_acc
    # the concise model's lazy layers are initialized inside fit, under the trainer's seed
    a = Trainer(max_epochs=1, progress=False, plot=False, seed=5).fit(MLP(10, 32, 0.1), small_data)
    b = Trainer(max_epochs=1, progress=False, plot=False, seed=5).fit(MLP(10, 32, 0.1), small_data)
    assert a.train_loss == b.train_loss


@pytest.mark.parametrize("value", [0, -1, 1.5, None])
def test_bad_max_epochs(value):
    with pytest.raises(ValueError, match="max_epochs"):
        Trainer(max_epochs=value)


def test_bad_device_is_explained():
    with pytest.raises(ValueError, match="device"):
        Trainer(max_epochs=1, device="nonsense")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")


def test_nan_stops_at_that_step_and_keeps_history(small_data):
    model = MLPScratch(784, 10, 256, lr=1e10, sigma=1.0)
    with pytest.warns(RuntimeWarning, match=r"at epoch 1, step \d+.*lower learning rate"):
        history = Trainer(max_epochs=5, progress=False, plot=False).fit(model, small_data)
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
        history = Trainer(max_epochs=5, progress=False, plot=False).fit(model, small_data)
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
    history = Trainer(max_epochs=4, progress=False, plot=False).fit(model, small_data)
    assert history.stopped == "interrupted" and len(history) == 1
    assert "Interrupted during epoch 2" in capsys.readouterr().out
    assert not torch.equal(before, model.W1.detach())  # the trained weights are kept


def test_fit_rejects_a_model_without_the_classifier_interface(small_data):
    with pytest.raises(TypeError, match="training_step"):
        Trainer(max_epochs=1, progress=False, plot=False).fit(torch.nn.Linear(784, 10), small_data)


def test_lr_scheduler_steps_once_per_epoch_and_on_epoch_sees_each_record(small_data):
    optimizers, epochs_seen = [], []
    model = MLPScratch(784, 10, 32, lr=0.4)

    def factory(optimizer):
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda finished: 0.5 ** finished)

    trainer = Trainer(max_epochs=3, progress=False, plot=False, lr_scheduler=factory)

    def on_epoch(record):
        epochs_seen.append(record.epoch)

    original_configure = model.configure_optimizers

    def configure():
        optimizer = original_configure()
        optimizers.append(optimizer)
        return optimizer

    model.configure_optimizers = configure
    history = trainer.fit(model, small_data, on_epoch=on_epoch)
    assert epochs_seen == [1, 2, 3] and len(history) == 3
    assert optimizers[0].param_groups[0]["lr"] == pytest.approx(0.4 * 0.5 ** 3)


def test_an_exception_from_on_epoch_stops_training(small_data):
    class Stop(Exception):
        pass

    def stop_after_two(record):
        if record.epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        Trainer(max_epochs=5, progress=False, plot=False).fit(
            MLPScratch(784, 10, 32, lr=0.1), small_data, on_epoch=stop_after_two)
