"""Chapter 8's tools for finding out why a network will not train: first loss, one batch, shapes,
batch independence, dead units, step logs, a ``zero_grad`` bug, per-layer statistics."""
from __future__ import annotations

import math
from collections import namedtuple
from functools import partial
from typing import Sequence

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from .validate import one_of
from .trainer import Callback, Trainer


def expected_initial_loss(num_classes: int) -> float:
    """``ln(num_classes)``: the cross-entropy of a uniform prediction over balanced classes."""
    return math.log(num_classes)


@torch.no_grad()
def initial_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Mean cross-entropy of ``model``'s logits on ``(X, y)``, without training or autograd."""
    return F.cross_entropy(model(X), y).item()


def dead_fraction(H: torch.Tensor) -> float:
    """The fraction of units (columns of ``H``, shape (examples, units)) that are 0 in every row."""
    if H.dim() != 2 or H.shape[0] == 0 or H.shape[1] == 0:
        raise ValueError(f"H must be a non-empty (examples, units) matrix, got shape {tuple(H.shape)}; "
                         "flatten it first, e.g. H.reshape(len(H), -1)")
    return (H == 0).all(dim=0).float().mean().item()


def assert_shape(name: str, tensor: torch.Tensor, shape: Sequence[int | None]) -> torch.Tensor:
    """Return ``tensor`` if its shape is ``shape`` (``None`` matches any size), else raise AssertionError."""
    if not isinstance(tensor, torch.Tensor):
        kind = "a (values, indices) pair, as a reduction such as torch.max(X, 0) returns" \
            if isinstance(tensor, tuple) else f"a {type(tensor).__name__}"
        raise AssertionError(f"{name}: expected a tensor of shape {tuple(shape)}, got {kind}")
    ok = tensor.dim() == len(shape) and all(s is None or s == t for s, t in zip(shape, tensor.shape))
    if not ok:
        wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise AssertionError(f"{name}: shape {tuple(tensor.shape)}, expected {wanted}")
    return tensor


def examples_touched(model: nn.Module, X: torch.Tensor, index: int = 0) -> list[int]:
    """The rows of ``X`` that ``model(X)[index]`` depends on: ``[index]`` unless the model mixes examples."""
    index %= len(X)
    X = X.detach().clone().requires_grad_(True)
    out = model(X)
    if not isinstance(out, torch.Tensor) or out.dim() < 1 or out.shape[0] != len(X):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise AssertionError(f"the model's output has shape {shape}, not one row per example "
                             f"({len(X)} rows): the batch dimension was lost or moved")
    out[index].sum().backward()
    return (X.grad.reshape(len(X), -1) != 0).any(dim=1).nonzero().flatten().tolist()


class OneBatch:
    """A data module that serves one batch ``steps_per_epoch`` times per epoch and evaluates on it."""
    eval_split = "batch"

    def __init__(self, X: torch.Tensor, y: torch.Tensor, steps_per_epoch: int = 50) -> None:
        self.X, self.y, self.steps_per_epoch = X, y, steps_per_epoch

    def train_dataloader(self, epoch: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(self.X, self.y)] * self.steps_per_epoch

    def eval_dataloader(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(self.X, self.y)]


class ForgetZeroGrad(Callback):
    """Injects a bug for study: the optimizer's ``zero_grad`` does nothing, so gradients add up."""
    def on_fit_start(self, trainer: Trainer) -> None:
        trainer.optimizer.zero_grad = lambda set_to_none=True: None  # the bug


class StepLog(Callback):
    """Records every step's loss (before its update) and the norm of all the gradients it used."""
    def __init__(self) -> None:
        self.losses, self.grad_norms = [], []

    def on_fit_start(self, trainer: Trainer) -> None:
        self.losses, self.grad_norms = [], []

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        grads = [p.grad.detach().flatten() for p in trainer.model.parameters() if p.grad is not None]
        self.losses.append(loss)
        self.grad_norms.append(torch.cat(grads).norm().item() if grads else 0.0)


# one layer's activations (kind "activation") or the loss's gradient for them ("gradient") at one step
_LayerRecord = namedtuple("_LayerRecord", "step layer kind mean std saturated dead counts edges")


class ActivationStats(Callback):
    """Every ``every`` steps, records each activation's output and gradient: mean, std, ``saturated``
    (share in the flat region: ``|a| > threshold`` for tanh, within ``1 - threshold`` of 0 or 1 for
    sigmoid, 0 for ReLU), ``dead`` (units flat on the whole batch) and a histogram of ``bins`` bins."""
    def __init__(self, every: int = 10, bins: int = 60, threshold: float = 0.97,
                 layer_types: tuple[type[nn.Module], ...] = (nn.ReLU, nn.Tanh, nn.Sigmoid)) -> None:
        self.every, self.bins, self.threshold, self.layer_types = every, bins, threshold, layer_types
        self.records, self.layers, self._handles = [], [], []

    def on_fit_start(self, trainer: Trainer) -> None:
        modules = [m for m in trainer.model.modules() if isinstance(m, self.layer_types)]
        if not modules:
            names = ", ".join(t.__name__ for t in self.layer_types)
            raise ValueError(f"the model has no activation modules of type {names} to watch; pass "
                             "layer_types=(...) with the classes it uses")
        self.records, self.step = [], 0
        self.layers = [f"layer {number} ({type(m).__name__})" for number, m in enumerate(modules, start=1)]
        self._handles = [m.register_forward_hook(partial(self._hook, label))
                         for m, label in zip(modules, self.layers)]

    def _hook(self, label: str, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if not (module.training and torch.is_grad_enabled() and self.step % self.every == 0):
            return
        step = self.step
        self._record(step, label, "activation", module, output.detach())
        if output.requires_grad:
            output.register_hook(lambda grad: self._record(step, label, "gradient", module, grad.detach()))

    def _record(self, step: int, label: str, kind: str, module: nn.Module, A: torch.Tensor) -> None:
        A = A.reshape(len(A), -1).float()
        t = self.threshold  # the flat region, where the activation's derivative is (nearly) zero:
        if kind == "gradient" or not isinstance(module, (nn.Tanh, nn.Sigmoid)):
            flat = A == 0  # a zero gradient; for ReLU, a zero output
        else:
            flat = A.abs() > t if isinstance(module, nn.Tanh) else (A < 1 - t) | (A > t)
        low, high = A.min().item(), A.max().item()
        if low == high:
            low, high = low - 0.5, high + 0.5
        counts = torch.histc(A, bins=self.bins, min=low, max=high).cpu()
        self.records.append(_LayerRecord(step, label, kind, A.mean().item(), A.std().item(),
                                        flat.float().mean().item(), flat.all(dim=0).float().mean().item(),
                                        counts, torch.linspace(low, high, self.bins + 1)))

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        self.step += 1

    def on_fit_end(self, trainer: Trainer) -> None:
        while self._handles:
            self._handles.pop().remove()

    def select(self, kind: str = "activation", step: int | None = None) -> list[_LayerRecord]:
        """The records of one ``kind`` at one recorded ``step`` (default: the last), input side first."""
        one_of("kind", kind, ("activation", "gradient"))
        chosen = [r for r in self.records if r.kind == kind]
        if not chosen:
            raise ValueError("nothing recorded yet: fit a model with this callback first")
        steps = sorted({r.step for r in chosen})
        step = steps[-1] if step is None else step
        if step not in steps:
            raise ValueError(f"step {step!r} was not recorded; recorded steps are {steps}")
        return sorted((r for r in chosen if r.step == step), key=lambda r: self.layers.index(r.layer))

    def table(self, step: int | None = None) -> str:
        """One line per layer and kind at ``step``: mean, std, saturated and dead fractions."""
        rows = [f"{'layer':<20} {'kind':<10} {'mean':>9} {'std':>9} {'saturated':>9} {'dead':>6}"]
        rows += [f"{r.layer:<20} {kind:<10} {r.mean:>9.2e} {r.std:>9.2e} {r.saturated:>9.1%} {r.dead:>6.1%}"
                 for kind in ("activation", "gradient") for r in self.select(kind, step)]
        return "\n".join(rows)


def plot_histograms(stats: ActivationStats, kind: str = "activation", step: int | None = None,
                    ax: plt.Axes | None = None, title: str = "") -> plt.Axes:
    """Draw the histogram of every layer's activations (or gradients) at ``step``, one line each."""
    records = stats.select(kind, step)
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    for r in records:
        centers, density = (r.edges[:-1] + r.edges[1:]) / 2, r.counts / r.counts.sum()
        saturated = f", sat. {r.saturated:.0%}" if kind == "activation" else ""
        ax.plot(centers.numpy(), density.numpy(), label=f"{r.layer}: std {r.std:.2g}{saturated}")
    ax.set_xlabel("activation value" if kind == "activation" else "gradient value")
    ax.set_ylabel("share of values")
    ax.set_title(title or f"{kind}s at step {records[0].step}", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return ax
