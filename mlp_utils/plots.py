"""Plots shared by the notebooks: image grids, live training curves, histories, confusion matrices."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from .config import in_notebook
from .trainer import Callback, EpochRecord, History, Trainer


def show_images(images: torch.Tensor, num_rows: int, num_cols: int,
                titles: Sequence[str] | None = None, scale: float = 1.4) -> plt.Figure:
    """Draw ``images`` (N, 1, H, W) or (N, H, W) in a grid with optional titles; return the figure."""
    if images.dim() == 4:
        images = images[:, 0]
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale * 1.15),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(images):
            ax.imshow(images[i].detach().cpu().numpy(), cmap="gray_r")
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig


class LiveCurves(Callback):
    """A trainer callback: a loss/accuracy figure that redraws in place after every epoch."""

    def on_fit_start(self, trainer: Trainer) -> None:
        self.fig, (self.ax_loss, self.ax_acc) = plt.subplots(1, 2, figsize=(8, 3))
        plt.close(self.fig)  # shown through the display handle only, never twice
        self.handle = None

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        draw_history(trainer.history, self.ax_loss, self.ax_acc, trainer.max_epochs)
        if trainer.title:
            self.fig.suptitle(trainer.title, fontsize=10)
        self.fig.tight_layout()
        _redraw(self)


def _redraw(owner: LiveCurves | Callback) -> None:
    """In a notebook, show ``owner.fig`` once, then update it in place through ``owner.handle``."""
    if in_notebook() and owner.handle is None:
        from IPython.display import display

        owner.handle = display(owner.fig, display_id=True)
    elif in_notebook():
        owner.handle.update(owner.fig)


def _epoch_axis(ax: plt.Axes, max_epochs: int | None = None) -> None:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if max_epochs:
        ax.set_xlim(0.5, max_epochs + 0.5)
    ax.grid(alpha=0.3)


def draw_history(history: History, ax_loss: plt.Axes, ax_acc: plt.Axes,
                 max_epochs: int | None = None) -> None:
    """Draw training and evaluation loss on ``ax_loss`` and the evaluation accuracy on ``ax_acc``."""
    epochs, split = history.column("epoch"), history.split
    ax_loss.clear()
    ax_acc.clear()
    ax_loss.plot(epochs, history.train_loss, "o-", label="train loss", markersize=3)
    ax_loss.plot(epochs, history.eval_loss, "s--", label=f"{split} loss", markersize=3)
    ax_acc.plot(epochs, history.eval_acc, "o-", label=f"{split} accuracy", markersize=3)
    for ax, name in ((ax_loss, "loss"), (ax_acc, f"{split} accuracy")):
        _epoch_axis(ax, max_epochs)
        ax.set_ylabel(name)
        ax.legend(fontsize=8)


def plot_histories(histories: dict[str, History], title: str = "") -> plt.Figure:
    """Overlay several runs' curves, one label each; return the figure."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    splits = {history.split for history in histories.values()}
    for label, history in histories.items():
        epochs = history.column("epoch")
        ax_loss.plot(epochs, history.train_loss, "o-", markersize=3, label=label)
        ax_acc.plot(epochs, history.eval_acc, "o-", markersize=3, label=label)
    ax_loss.set_ylabel("training loss")
    ax_acc.set_ylabel(f"{' / '.join(sorted(splits))} accuracy")
    for ax in (ax_loss, ax_acc):
        _epoch_axis(ax)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(matrix: torch.Tensor, class_names: Sequence[str]) -> plt.Figure:
    """Draw a confusion matrix (rows: true class, columns: predicted class) with counts."""
    matrix = matrix.cpu()
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = matrix.max().item() / 2
    for (i, j), value in np.ndenumerate(matrix.int().numpy()):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                color="white" if value > threshold else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
