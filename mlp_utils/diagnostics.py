"""Tools for finding out why a network will not train (chapter 8, the debugging guide).

* :func:`expected_initial_loss` and :func:`initial_loss`: the first loss should be ``ln C``;
* :class:`OneBatch`: a data module that serves one fixed batch, to overfit it with the
  :class:`~mlp_utils.trainer.Trainer`;
* :func:`assert_shape` and :func:`examples_touched`: shape checks, and a test that no example's
  output depends on another example's input (a wrong flatten or a reduction over the batch
  breaks it);
* :func:`dead_fraction`: the share of hidden units that are zero on every example of a batch;
* :class:`StepLog`: a callback that records the loss and the gradient norm of every step;
* :class:`ForgetZeroGrad`: a callback that injects the forgotten-``zero_grad`` bug, to measure it;
* :class:`ActivationStats` and :func:`plot_histograms`: per-layer activation and gradient
  statistics recorded with forward hooks during training, and their histograms.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from .validate import one_of, positive_float, positive_int
from .trainer import Callback, Trainer

__all__ = ["ActivationStats", "ForgetZeroGrad", "LayerRecord", "OneBatch", "StepLog", "assert_shape", "dead_fraction",
           "examples_touched", "expected_initial_loss", "initial_loss", "plot_histograms"]


def _check_tensor(name: str, value: object, min_dim: int = 0) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimension(s), got shape {tuple(value.shape)}")
    return value


def expected_initial_loss(num_classes: int) -> float:
    """``ln(num_classes)``: the cross-entropy of a uniform prediction over balanced classes."""
    return math.log(positive_int("num_classes", num_classes))


@torch.no_grad()
def initial_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Mean cross-entropy of ``model``'s logits on ``(X, y)``, without training or autograd."""
    if not callable(model):
        raise TypeError(f"model must be callable (an nn.Module), got {type(model).__name__}")
    X, y = _check_tensor("X", X, 1), _check_tensor("y", y, 1)
    if len(X) != len(y):
        raise ValueError(f"X and y must hold the same number of examples, got {len(X)} and {len(y)}")
    return F.cross_entropy(model(X), y).item()


def dead_fraction(H: torch.Tensor) -> float:
    """The fraction of units (columns of ``H``) that are exactly 0 for every example (row).

    ``H`` is a batch of hidden activations, shape (examples, units). A unit that is 0 on every
    example passes no gradient back through a ReLU, so it cannot learn from this batch.
    """
    H = _check_tensor("H", H)
    if H.dim() != 2 or H.shape[0] == 0 or H.shape[1] == 0:
        raise ValueError(f"H must be a non-empty (examples, units) matrix, got shape {tuple(H.shape)}; "
                         "flatten it first, e.g. H.reshape(len(H), -1)")
    return (H == 0).all(dim=0).float().mean().item()


def assert_shape(name: str, tensor: torch.Tensor, shape: Sequence[int | None]) -> torch.Tensor:
    """Return ``tensor`` if its shape is ``shape`` (``None`` matches any size), else raise.

    Put one after every line of a forward pass you are not sure of: a reduction over the batch
    or a wrong reshape then fails where it happens, not many lines later.
    """
    if not isinstance(tensor, torch.Tensor):
        kind = "a (values, indices) pair, as a reduction such as torch.max(X, 0) returns" \
            if isinstance(tensor, tuple) else f"a {type(tensor).__name__}"
        raise AssertionError(f"{name}: expected a tensor of shape {tuple(shape)}, got {kind}")
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or \
            any(s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 0) for s in shape):
        raise ValueError(f"shape must be a sequence of sizes (int >= 0 or None), got {shape!r}")
    ok = tensor.dim() == len(shape) and all(s is None or s == t for s, t in zip(shape, tensor.shape))
    if not ok:
        wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise AssertionError(f"{name}: shape {tuple(tensor.shape)}, expected {wanted}")
    return tensor


def examples_touched(model: nn.Module, X: torch.Tensor, index: int = 0) -> list[int]:
    """The examples of ``X`` whose input influences the output of example ``index``.

    Back-propagates the sum of ``model(X)[index]`` to the input and lists the rows of ``X`` with
    a nonzero gradient. In a correct model the examples of a batch do not mix, so the answer
    is ``[index]``; a wrong flatten or a reduction over the batch lists others too. (Layers
    that mix examples on purpose, such as batch normalization in training mode, do as well.)
    """
    X = _check_tensor("X", X, 1)
    if isinstance(index, bool) or not isinstance(index, int) or not -len(X) <= index < len(X):
        raise ValueError(f"index must be an integer in [0, {len(X)}) for a batch of {len(X)}, got {index!r}")
    index %= len(X)
    X = X.detach().clone().requires_grad_(True)
    out = model(X)
    if not isinstance(out, torch.Tensor) or out.dim() < 1 or out.shape[0] != len(X):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise AssertionError(f"the model's output has shape {shape}, not one row per example "
                             f"({len(X)} rows): the batch dimension was lost or moved")
    out[index].sum().backward()
    touched = (X.grad.reshape(len(X), -1) != 0).any(dim=1)
    return touched.nonzero().flatten().tolist()


class OneBatch:
    """A data module that serves one fixed batch ``steps_per_epoch`` times per epoch.

    ``Trainer(max_epochs=E).fit(model, OneBatch(X, y, S))`` takes ``E * S`` steps on the same
    batch and measures the loss and accuracy on that batch after every epoch: the
    "overfit one batch" test.
    """

    eval_split = "batch"

    def __init__(self, X: torch.Tensor, y: torch.Tensor, steps_per_epoch: int = 50) -> None:
        self.X, self.y = _check_tensor("X", X, 1), _check_tensor("y", y, 1)
        if len(X) != len(y):
            raise ValueError(f"X and y must hold the same number of examples, got {len(X)} and {len(y)}")
        self.steps_per_epoch = positive_int("steps_per_epoch", steps_per_epoch)

    def train_dataloader(self, epoch: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(self.X, self.y)] * self.steps_per_epoch

    def eval_dataloader(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(self.X, self.y)]


class ForgetZeroGrad(Callback):
    """Injects a bug for study: the optimizer's ``zero_grad`` does nothing, so gradients add up.

    Every ``backward`` then adds to the gradients of all earlier steps, and each update uses
    their running sum.
    """

    def on_fit_start(self, trainer: Trainer) -> None:
        if trainer.optimizer is None:
            raise TypeError("ForgetZeroGrad needs a model with configure_optimizers(); "
                            f"{type(trainer.model).__name__} updates its parameters itself")
        trainer.optimizer.zero_grad = lambda set_to_none=True: None  # the bug


class StepLog(Callback):
    """A trainer callback that records every step's loss and gradient norm.

    ``losses[k]`` is the loss of step ``k`` (before its update); ``grad_norms[k]`` is the norm of
    all parameters' gradients as that step's update used them (all gradients as one vector).
    """

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.grad_norms: list[float] = []

    def on_fit_start(self, trainer: Trainer) -> None:
        if not isinstance(trainer.model, nn.Module):
            raise TypeError(f"StepLog needs an nn.Module model, got {type(trainer.model).__name__}")
        self.losses, self.grad_norms = [], []

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        grads = [p.grad.detach().flatten() for p in trainer.model.parameters() if p.grad is not None]
        self.losses.append(loss)
        self.grad_norms.append(torch.cat(grads).norm().item() if grads else 0.0)


@dataclass(frozen=True)
class LayerRecord:
    """Statistics of one layer's activations (``kind="activation"``) or of the loss's gradient
    with respect to them (``kind="gradient"``) on one training batch."""

    step: int
    layer: str
    kind: str
    mean: float
    std: float
    saturated: float
    dead: float
    counts: torch.Tensor
    edges: torch.Tensor


def _flat_region(module: nn.Module, A: torch.Tensor, threshold: float) -> torch.Tensor:
    """Where the activation's derivative is (nearly) zero: its flat region."""
    if isinstance(module, nn.Tanh):
        return A.abs() > threshold
    if isinstance(module, nn.Sigmoid):
        return (A < 1 - threshold) | (A > threshold)
    return A == 0  # ReLU: zero output, zero derivative


class ActivationStats(Callback):
    """A trainer callback that records, every ``every`` steps, each activation layer's statistics.

    Forward hooks on the model's activation modules (``nn.ReLU``, ``nn.Tanh``, ``nn.Sigmoid``,
    or the ``layer_types`` given) capture their outputs on a training batch, and a tensor hook
    the gradient of the loss with respect to those outputs. Each is summarized in a
    :class:`LayerRecord`: mean, standard deviation, ``saturated`` (the fraction of values in the
    activation's flat region: ``|a| > threshold`` for tanh, within ``1 - threshold`` of 0 or 1 for
    sigmoid, exactly 0 for ReLU), ``dead`` (the fraction of units in that region for every
    example of the batch) and a histogram over ``bins`` bins. Evaluation passes are skipped.
    """

    def __init__(self, every: int = 10, bins: int = 60, threshold: float = 0.97,
                 layer_types: tuple[type[nn.Module], ...] = (nn.ReLU, nn.Tanh, nn.Sigmoid)) -> None:
        self.every = positive_int("every", every)
        self.bins = positive_int("bins", bins)
        self.threshold = positive_float("threshold", threshold)
        if not self.threshold < 1:
            raise ValueError(f"threshold must be below 1 (e.g. 0.97), got {threshold!r}")
        if not isinstance(layer_types, tuple) or not layer_types or \
                not all(isinstance(t, type) and issubclass(t, nn.Module) for t in layer_types):
            raise TypeError(f"layer_types must be a non-empty tuple of nn.Module classes, got {layer_types!r}")
        self.layer_types = layer_types
        self.records: list[LayerRecord] = []
        self.layers: list[str] = []
        self._handles: list = []

    def on_fit_start(self, trainer: Trainer) -> None:
        model = trainer.model
        if not isinstance(model, nn.Module):
            raise TypeError(f"ActivationStats needs an nn.Module model, got {type(model).__name__}")
        layers = [(name, m) for name, m in model.named_modules() if isinstance(m, self.layer_types)]
        if not layers:
            names = ", ".join(t.__name__ for t in self.layer_types)
            raise ValueError(f"the model has no activation modules of type {names} to watch; pass "
                             "layer_types=(...) with the classes it uses")
        self.records, self.step, self.layers = [], 0, []
        for number, (name, module) in enumerate(layers, start=1):
            label = f"layer {number} ({type(module).__name__})"
            self.layers.append(label)
            self._handles.append(module.register_forward_hook(self._hook(label)))

    def _hook(self, label: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if not (module.training and torch.is_grad_enabled() and self.step % self.every == 0):
                return
            step = self.step
            self._record(step, label, "activation", module, output.detach())
            if output.requires_grad:
                output.register_hook(lambda grad: self._record(step, label, "gradient", module, grad.detach()))
        return hook

    def _record(self, step: int, label: str, kind: str, module: nn.Module, A: torch.Tensor) -> None:
        A = A.reshape(len(A), -1).float()
        flat = _flat_region(module, A, self.threshold) if kind == "activation" else A == 0
        low, high = A.min().item(), A.max().item()
        if low == high:
            low, high = low - 0.5, high + 0.5
        counts = torch.histc(A, bins=self.bins, min=low, max=high).cpu()
        self.records.append(LayerRecord(step, label, kind, A.mean().item(), A.std().item(),
                                        flat.float().mean().item(), flat.all(dim=0).float().mean().item(),
                                        counts, torch.linspace(low, high, self.bins + 1)))

    def on_step_end(self, trainer: Trainer, loss: float) -> None:
        self.step += 1

    def on_fit_end(self, trainer: Trainer) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def select(self, kind: str = "activation", step: int | None = None) -> list[LayerRecord]:
        """The records of one ``kind`` at one recorded ``step`` (default: the last one), input side first."""
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
        lines = [f"{'layer':<20} {'kind':<10} {'mean':>9} {'std':>9} {'saturated':>9} {'dead':>6}"]
        for kind in ("activation", "gradient"):
            for r in self.select(kind, step):
                lines.append(f"{r.layer:<20} {kind:<10} {r.mean:>9.2e} {r.std:>9.2e} "
                             f"{r.saturated:>9.1%} {r.dead:>6.1%}")
        return "\n".join(lines)

    def __iter__(self) -> Iterator[LayerRecord]:
        return iter(self.records)


def plot_histograms(stats: ActivationStats, kind: str = "activation", step: int | None = None,
                    ax: plt.Axes | None = None, title: str = "") -> plt.Axes:
    """Draw the histogram of every layer's activations (or gradients) at ``step``, one line each,
    makemore-style: the legend gives each layer's mean, std and saturated fraction."""
    if not isinstance(stats, ActivationStats):
        raise TypeError(f"stats must be an ActivationStats callback, got {type(stats).__name__}")
    records = stats.select(kind, step)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    for r in records:
        centers = (r.edges[:-1] + r.edges[1:]) / 2
        density = r.counts / r.counts.sum()
        label = f"{r.layer}: std {r.std:.2g}, sat. {r.saturated:.0%}" if kind == "activation" \
            else f"{r.layer}: std {r.std:.2g}"
        ax.plot(centers.numpy(), density.numpy(), label=label)
    ax.set_xlabel("activation value" if kind == "activation" else "gradient value")
    ax.set_ylabel("share of values")
    ax.set_title(title or f"{kind}s at step {records[0].step}", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return ax
