"""The trainer: one loop that fits every model of the course to every data module."""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch
from torch import nn
from tqdm.auto import tqdm

from .checks import check_positive_int
from .device import pick_device
from .notebook import in_notebook
from .plots import LiveCurves

__all__ = ["EpochRecord", "History", "Trainer", "evaluate", "confusion_matrix"]


class DataModule(Protocol):
    """What the trainer needs from data: training batches per epoch and validation batches."""

    def train_dataloader(self, epoch: int = 0): ...

    def val_dataloader(self): ...


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch measured."""

    epoch: int
    train_loss: float
    val_loss: float
    val_acc: float
    seconds: float


@dataclass
class History:
    """Per-epoch measurements of one ``fit``, and why it stopped if it stopped early.

    ``stopped`` is ``None`` for a run that finished, ``"diverged"`` when the loss became NaN
    or infinite, and ``"interrupted"`` after Ctrl-C; ``message`` then explains.
    """

    records: list[EpochRecord] = field(default_factory=list)
    stopped: str | None = None
    message: str = ""

    @property
    def train_loss(self) -> list[float]:
        return [r.train_loss for r in self.records]

    @property
    def val_loss(self) -> list[float]:
        return [r.val_loss for r in self.records]

    @property
    def val_acc(self) -> list[float]:
        return [r.val_acc for r in self.records]

    @property
    def seconds(self) -> list[float]:
        return [r.seconds for r in self.records]

    @property
    def final_val_acc(self) -> float:
        """Validation accuracy after the last completed epoch (NaN if none completed)."""
        return self.records[-1].val_acc if self.records else math.nan

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds)

    def table(self) -> str:
        """The history as a fixed-width text table."""
        lines = [f"{'epoch':>5} {'train loss':>10} {'val loss':>9} {'val acc':>8} {'seconds':>8}"]
        for r in self.records:
            lines.append(f"{r.epoch:>5} {r.train_loss:>10.4f} {r.val_loss:>9.4f} {r.val_acc:>8.4f} {r.seconds:>8.2f}")
        if self.stopped:
            lines.append(f"stopped early ({self.stopped}): {self.message}")
        return "\n".join(lines)

    def __len__(self) -> int:
        return len(self.records)


@torch.no_grad()
def evaluate(model: nn.Module, batches, device: torch.device | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``batches``, in evaluation mode."""
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for X, y in batches:
        if device is not None:
            X, y = X.to(device), y.to(device)
        logits = model(X)
        total_loss += model.loss(logits, y).item() * len(y)
        correct += int(model.num_correct(logits, y))
        count += len(y)
    model.train(was_training)
    return total_loss / count, correct / count


@torch.no_grad()
def confusion_matrix(model: nn.Module, batches, num_classes: int = 10) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs over ``batches``."""
    model.eval()
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for X, y in batches:
        predicted = model(X).argmax(dim=1)
        matrix += torch.bincount((y * num_classes + predicted).cpu(), minlength=num_classes ** 2
                                 ).reshape(num_classes, num_classes)
    return matrix


def _has_lazy_parameters(model: nn.Module) -> bool:
    return any(isinstance(p, nn.parameter.UninitializedParameter) for p in model.parameters())


class Trainer:
    """Fits a model to a data module with minibatch SGD, measuring every epoch.

    Args:
        max_epochs: how many passes over the training data.
        device: force a device; ``None`` picks CUDA, then MPS, then the CPU.
        seed: if given, seeds PyTorch's generator at the start of ``fit`` (lazy layers are
            initialized inside ``fit``), so two runs give the same history on the CPU.
        progress: show a tqdm progress bar; ``None`` means "only in a notebook".
        plot: redraw a loss/accuracy figure after each epoch; ``None`` means "only in a notebook".
        title: a title for the live plot.
        lr_scheduler: optional ``optimizer -> torch.optim.lr_scheduler.LRScheduler`` factory;
            the scheduler is stepped once at the end of every epoch.
    """

    def __init__(self, max_epochs: int, device: str | torch.device | None = None,
                 seed: int | None = None, progress: bool | None = None, plot: bool | None = None,
                 title: str = "",
                 lr_scheduler: Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler] | None = None
                 ) -> None:
        self.max_epochs = check_positive_int("max_epochs", max_epochs)
        self.device = pick_device(device)
        self.seed = seed
        self.progress = in_notebook() if progress is None else progress
        self.plot = in_notebook() if plot is None else plot
        self.title = title
        self.lr_scheduler = lr_scheduler

    def fit(self, model: nn.Module, data: DataModule,
            on_epoch: Callable[[EpochRecord], None] | None = None) -> History:
        """Train ``model`` on ``data`` for ``max_epochs`` epochs and return the :class:`History`.

        The run stops early, keeping the history so far, if the loss becomes NaN or infinite
        (with a warning naming the epoch) or on Ctrl-C (KeyboardInterrupt). ``on_epoch`` is
        called with each epoch's record once it is in the history; an exception it raises
        (say, Optuna's ``TrialPruned``) stops training and propagates to the caller.
        """
        for method in ("training_step", "configure_optimizers", "loss", "num_correct"):
            if not callable(getattr(model, method, None)):
                raise TypeError(f"model must provide {method}() like mlp_utils.models.Classifier; "
                                f"{type(model).__name__} does not")
        if self.seed is not None:
            torch.manual_seed(self.seed)
        model.to(self.device)
        if _has_lazy_parameters(model):
            X, _ = next(iter(data.train_dataloader(0)))
            with torch.no_grad():
                model(X[:1].to(self.device))  # a dry run gives lazy layers their shapes
        optimizer = model.configure_optimizers()
        scheduler = self.lr_scheduler(optimizer) if self.lr_scheduler is not None else None
        history = History()
        steps_per_epoch = len(data.train_dataloader(0))
        bar = tqdm(total=self.max_epochs * steps_per_epoch, disable=not self.progress,
                   desc=self.title or type(model).__name__, unit="step", leave=True)
        curves = LiveCurves(self.max_epochs, self.title) if self.plot else None
        try:
            for epoch in range(1, self.max_epochs + 1):
                record = self._run_epoch(model, data, optimizer, epoch, bar, history)
                if record is None:
                    break
                history.records.append(record)
                bar.set_postfix(loss=f"{record.train_loss:.3f}", val_acc=f"{record.val_acc:.3f}")
                if curves is not None:
                    curves.update(history)
                if scheduler is not None:
                    scheduler.step()
                if on_epoch is not None:
                    on_epoch(record)
        except KeyboardInterrupt:
            history.stopped = "interrupted"
            history.message = (f"Interrupted during epoch {len(history.records) + 1}; "
                               f"returning the {len(history.records)} completed epoch(s). "
                               "The model keeps the parameters of its last step.")
            print(history.message)
        finally:
            bar.close()
        model.eval()
        return history

    def _run_epoch(self, model: nn.Module, data: DataModule, optimizer: torch.optim.Optimizer,
                   epoch: int, bar, history: History) -> EpochRecord | None:
        """One pass over the training batches and one over the validation batches.

        Returns ``None`` (and marks ``history`` as diverged) when the loss is not finite.
        """
        start = time.perf_counter()
        model.train()
        total_loss, count = 0.0, 0
        for step, (X, y) in enumerate(data.train_dataloader(epoch), start=1):
            X, y = X.to(self.device), y.to(self.device)
            loss = model.training_step((X, y))
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                history.stopped = "diverged"
                history.message = (
                    f"The training loss became {loss_value} at epoch {epoch}, step {step}; training "
                    f"stopped there, keeping the {len(history.records)} completed epoch(s). "
                    "Try a lower learning rate or a smaller initialization scale (sigma).")
                warnings.warn(history.message, RuntimeWarning, stacklevel=3)
                return None
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss_value * len(y)
            count += len(y)
            bar.update(1)
        val_loss, val_acc = evaluate(model, data.val_dataloader(), self.device)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return EpochRecord(epoch, total_loss / count, val_loss, val_acc, time.perf_counter() - start)
