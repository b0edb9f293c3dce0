"""The one training loop (:class:`Trainer`); bars, plots, schedules and pruning are callbacks."""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .config import in_notebook
from .device import pick_device
from .validate import positive_int

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch measured: mean training loss, loss and accuracy on the evaluation split."""

    epoch: int
    train_loss: float
    eval_loss: float
    eval_acc: float
    seconds: float


@dataclass
class History:
    """Per-epoch records of one ``fit``; ``stopped``: None, "diverged" or "interrupted" (``message``: why)."""

    split: str = "test"
    records: list[EpochRecord] = field(default_factory=list)
    stopped: str | None = None
    message: str = ""

    def column(self, name: str) -> list[float]:
        """One field of every record, e.g. ``history.column("eval_acc")``."""
        return [getattr(record, name) for record in self.records]

    train_loss = property(lambda self: self.column("train_loss"))
    eval_loss = property(lambda self: self.column("eval_loss"))
    eval_acc = property(lambda self: self.column("eval_acc"))
    total_seconds = property(lambda self: sum(self.column("seconds")))
    final_acc = property(lambda self: self.records[-1].eval_acc if self.records else math.nan,
                         doc="Accuracy on the evaluation split after the last completed epoch (NaN if none).")

    def table(self) -> str:
        """The history as a fixed-width text table."""
        s = self.split
        lines = [f"{'epoch':>5} {'train loss':>10} {s + ' loss':>9} {s + ' acc':>8} {'seconds':>8}"]
        lines += [f"{r.epoch:>5} {r.train_loss:>10.4f} {r.eval_loss:>9.4f} {r.eval_acc:>8.4f} "
                  f"{r.seconds:>8.2f}" for r in self.records]
        if self.stopped:
            lines.append(f"stopped early ({self.stopped}): {self.message}")
        return "\n".join(lines)

    def __len__(self) -> int:
        return len(self.records)


@torch.no_grad()
def evaluate(model: Callable[[torch.Tensor], torch.Tensor], batches: Batches) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model``'s logits over ``batches``, in evaluation mode."""
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for X, y in batches:
        logits = model(X)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += int((logits.argmax(dim=1) == y).sum())
        count += len(y)
    if was_training:
        model.train()
    return total_loss / count, correct / count


@torch.no_grad()
def confusion_matrix(model: Callable[[torch.Tensor], torch.Tensor], batches: Batches,
                     num_classes: int = 10) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs over ``batches``."""
    if isinstance(model, nn.Module):
        model.eval()
    pairs = torch.cat([(y * num_classes + model(X).argmax(dim=1)).cpu() for X, y in batches])
    return torch.bincount(pairs, minlength=num_classes ** 2).reshape(num_classes, num_classes)


class Callback:
    """Something done around the loop: override the hooks you need; an exception stops the run."""

    def on_fit_start(self, trainer: "Trainer") -> None: ...
    def on_step_end(self, trainer: "Trainer", loss: float) -> None: ...
    def on_epoch_end(self, trainer: "Trainer", record: EpochRecord) -> None: ...
    def on_fit_end(self, trainer: "Trainer") -> None: ...


class _ProgressBar(Callback):
    """A tqdm.auto bar over every step of the run, with the latest loss and accuracy."""

    def on_fit_start(self, trainer: "Trainer") -> None:
        self.bar = tqdm(total=trainer.max_epochs * trainer.steps_per_epoch, unit="step",
                        desc=trainer.title or type(trainer.model).__name__, leave=True)

    def on_step_end(self, trainer: "Trainer", loss: float) -> None:
        self.bar.update(1)

    def on_epoch_end(self, trainer: "Trainer", record: EpochRecord) -> None:
        self.bar.set_postfix({"loss": f"{record.train_loss:.3f}",
                              f"{trainer.history.split}_acc": f"{record.eval_acc:.3f}"})

    def on_fit_end(self, trainer: "Trainer") -> None:
        self.bar.close()


class LRSchedule(Callback):
    """Multiplies the learning rate of epoch ``e`` (from 0) by ``factor(e)`` (``LambdaLR``)."""

    def __init__(self, factor: Callable[[int], float]) -> None:
        self.factor = factor

    def on_fit_start(self, trainer: "Trainer") -> None:
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(trainer.optimizer, self.factor)

    def on_epoch_end(self, trainer: "Trainer", record: EpochRecord) -> None:
        self.scheduler.step()


class OnEpoch(Callback):
    """Calls ``function(record)`` after every epoch (a function as a callback)."""

    def __init__(self, function: Callable[[EpochRecord], None]) -> None:
        self.function = function

    def on_epoch_end(self, trainer: "Trainer", record: EpochRecord) -> None:
        self.function(record)


class Trainer:
    """Fits a Classifier (or a model with ``train_step``); ``progress`` adds a bar (None: in notebooks)."""

    def __init__(self, max_epochs: int, device: str | torch.device | None = None,
                 callbacks: Sequence[Callback] = (), progress: bool | None = None, title: str = "") -> None:
        self.max_epochs = positive_int("max_epochs", max_epochs)  # a learner types it
        self.device, self.title, self.callbacks = pick_device(device), title, list(callbacks)
        if any(not isinstance(c, Callback) for c in self.callbacks):
            raise TypeError("callbacks must be Callback objects; wrap a plain function in OnEpoch(function)")
        if in_notebook() if progress is None else progress:
            self.callbacks.insert(0, _ProgressBar())

    def _emit(self, hook: str, *args: object) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    def _prepare(self, model, data: Any) -> Callable[[torch.Tensor, torch.Tensor], float]:
        """Put ``model`` on the device; return its step ``(X, y) -> loss before the update``."""
        if callable(getattr(model, "train_step", None)):  # gradients by hand (ManualMLP)
            self.optimizer, self.device = None, model.device
            return model.train_step
        if not isinstance(model, nn.Module) or not callable(getattr(model, "configure_optimizers", None)):
            raise TypeError(f"model must be a Classifier (training_step, configure_optimizers) or "
                            f"define train_step(X, y); {type(model).__name__} is neither")
        model.to(self.device)
        if any(isinstance(p, nn.parameter.UninitializedParameter) for p in model.parameters()):
            X, _ = next(iter(data.train_dataloader(0)))
            with torch.no_grad():
                model(X[:1].to(self.device))  # a dry run gives lazy layers their shapes
        model.train()
        optimizer = self.optimizer = model.configure_optimizers()

        def step(X: torch.Tensor, y: torch.Tensor) -> float:
            loss = model.training_step((X, y))
            value = loss.item()
            if math.isfinite(value):  # a broken step leaves the parameters as they were
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            return value
        return step

    def fit(self, model, data: Any) -> History:
        """Train ``model`` on ``data`` for ``max_epochs`` epochs, evaluating after each."""
        self.model, self.history = model, History(split=data.eval_split)
        step = self._prepare(model, data)
        self.steps_per_epoch = len(data.train_dataloader(0))
        self._emit("on_fit_start")
        try:
            self._loop(step, data)
        except KeyboardInterrupt:
            print(self._stop("interrupted", f"Interrupted during epoch {len(self.history) + 1}."))
        finally:
            self._emit("on_fit_end")
            if isinstance(model, nn.Module):
                model.eval()
        return self.history

    def _loop(self, step: Callable[[torch.Tensor, torch.Tensor], float], data: Any) -> None:
        for epoch in range(1, self.max_epochs + 1):
            start, total, count = time.perf_counter(), 0.0, 0
            for number, (X, y) in enumerate(data.train_dataloader(epoch), start=1):
                loss = step(X.to(self.device), y.to(self.device))
                if not math.isfinite(loss):
                    message = self._stop("diverged", f"The training loss became {loss} at epoch {epoch}, "
                                         f"step {number}; training stopped there. Try a lower learning "
                                         "rate or a smaller initialization scale (sigma).")
                    warnings.warn(message, RuntimeWarning, stacklevel=3)
                    return
                total, count = total + loss * len(y), count + len(y)
                self._emit("on_step_end", loss)
            eval_loss, eval_acc = evaluate(self.model, data.eval_dataloader())
            if self.device.type != "cpu":
                torch.accelerator.synchronize(self.device)
            record = EpochRecord(epoch, total / count, eval_loss, eval_acc, time.perf_counter() - start)
            self.history.records.append(record)
            self._emit("on_epoch_end", record)

    def _stop(self, reason: str, message: str) -> str:
        self.history.stopped = reason
        self.history.message = (f"{message} Returning the {len(self.history)} completed epoch(s); "
                                "the model keeps the parameters of its last step.")
        return self.history.message
