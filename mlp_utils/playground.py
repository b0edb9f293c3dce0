"""A 2-D playground: a two-arm spiral (:class:`Playground`), its decision regions, and a
one-hidden-layer ReLU network's score split by unit."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from tqdm.auto import tqdm

from .validate import one_of, positive_int
from .config import budget, seed_or_default
from .data import InMemoryData, TensorBatches
from .device import pick_device
from .experiments import Group, Run, Settings, seeds_of, train
from .models import ACTIVATIONS, DeepMLP
from .plots import _redraw
from .precomputed import Grid, boundary_chart, describe, show_static, stored, storing
from .trainer import Callback, EpochRecord, Trainer, evaluate

if TYPE_CHECKING:
    from .widgets import RetrainExplorer

_EXTENT = 2.5  # every grid covers [-2.5, 2.5]^2: standardized points lie well inside it

_CLASS_COLORS = ("#1f77b4", "#d62728", "#2ca02c")
_REGION_COLORS = ("#c6dbef", "#fcc5c0", "#c7e9c0")
EPOCHS = 300  # full-batch steps of a playground run: under a second on one CPU thread
LR = 1.0  # the default learning rate (full-batch SGD on standardized points)


def _spiral(num_points: int, noise: float = 0.2, turns: float = 1.25,
            seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Two noisy spiral arms ``r (cos(a + k pi), sin(a + k pi))``, ``a`` growing with ``r``: ``X``, ``y``."""
    generator = torch.Generator().manual_seed(seed_or_default(seed))
    y = (torch.arange(num_points) >= num_points // 2).long()
    r = 0.1 + 0.9 * torch.rand(num_points, generator=generator).sqrt()  # even density over the area
    angle = 2 * math.pi * turns * r + math.pi * y
    X = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], dim=1)
    X += 0.1 * noise * torch.randn(num_points, 2, generator=generator)
    return X.float(), y


class Playground(InMemoryData):
    """The spiral as a data module, standardized by its training points; ``batch_size=None``: full batch."""

    eval_split = "test"
    num_classes = 2

    def __init__(self, num_train: int = 300, num_test: int = 200,
                 noise: float = 0.2, batch_size: int | None = None, seed: int | None = None,
                 device: str | torch.device | None = None) -> None:
        self.num_train = positive_int("num_train", num_train)
        self.num_test = positive_int("num_test", num_test)
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < math.inf:
            raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
        self.noise = float(noise)
        self.batch_size = self.num_train if batch_size is None else positive_int("batch_size", batch_size)
        self.seed, self.device = seed_or_default(seed), pick_device(device)
        X, y = _spiral(num_train + num_test, noise=noise, seed=self.seed)
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(self.seed + 1))
        train, test = order[:num_train], order[num_train:]
        self.mean, self.std = X[train].mean(dim=0), X[train].std(dim=0)
        X = (X - self.mean) / self.std
        self.X_train, self.y_train = X[train].to(self.device), y[train].to(self.device)
        self.X_test, self.y_test = X[test].to(self.device), y[test].to(self.device)

    def __repr__(self) -> str:
        return (f"Playground(train={self.num_train}, test={self.num_test}, "
                f"noise={self.noise:g}, batch_size={self.batch_size}, device={self.device})")

    def test_dataloader(self) -> TensorBatches:  # also what the trainer measures after every epoch
        return TensorBatches(self.X_test, self.y_test, self.num_test)

    eval_dataloader = test_dataloader


def playground_model(num_hiddens: int = 16, num_layers: int = 1, activation: str = "relu", lr: float = LR,
                     num_classes: int = 2) -> DeepMLP:
    """A DeepMLP for the plane with PyTorch's initialization (random biases scatter the units' lines)."""
    return Settings(num_hiddens=num_hiddens, num_layers=num_layers, activation=activation, init="pytorch",
                    lr=lr).build(num_inputs=2, num_outputs=num_classes)


def _run(data: Playground, seed: int | None, num_hiddens: int = 16, num_layers: int = 1,
         activation: str = "relu", lr: float = LR, epochs: int = EPOCHS) -> Run:
    """:func:`~mlp_utils.experiments.train` on the plane; one CPU thread (more only wait at 300 x 16)."""
    settings = Settings(num_hiddens=num_hiddens, num_layers=num_layers, activation=activation, init="pytorch",
                        lr=lr, epochs=epochs, batch_size=data.batch_size)
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if data.device.type == "cpu" else threads)
    try:
        return train(settings, data, seed)
    finally:
        torch.set_num_threads(threads)


def repeat_playground(seeds: int | Sequence[int] = 3, num_hiddens: int = 16, num_layers: int = 1,
                      activation: str = "relu", lr: float = LR, epochs: int = EPOCHS,
                      **data_options: Any) -> Group:
    """One setting trained once per seed, each on ``Playground(seed=seed, **data_options)``: a Group."""
    runs = [_run(Playground(seed=seed, **data_options), seed, num_hiddens, num_layers, activation, lr, epochs)
            for seed in seeds_of(seeds)]
    return Group(runs[0].settings, runs)


def hidden_layer(model: DeepMLP) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(W, b, v, c)`` of a one-hidden-layer, two-class network: its score is ``relu(X W^T + b) v + c``."""
    if not isinstance(model, DeepMLP) or len(model.linears) != 2 or model.linears[-1].out_features != 2:
        raise ValueError("hidden_layer needs a DeepMLP with exactly one hidden layer and 2 outputs, "
                         "e.g. playground_model(num_hiddens=8, num_layers=1)")
    (W, b), (V, c) = ((linear.weight.detach(), linear.bias.detach()) for linear in model.linears)
    return W, b, V[1] - V[0], c[1] - c[0]


def unit_contributions(X: torch.Tensor, W: torch.Tensor, b: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Each hidden unit's share of the score, (N, H): ``[n, j]`` is ``v_j relu(w_j . x_n + b_j)``."""
    if X.dim() != 2 or W.dim() != 2 or X.shape[1] != W.shape[1]:
        raise ValueError(f"X must be (N, d) and W (H, d) with the same d, got {tuple(X.shape)} and {tuple(W.shape)}")
    if b.shape != (W.shape[0],) or v.shape != (W.shape[0],):
        raise ValueError(f"b and v must have shape ({W.shape[0]},), one entry per hidden unit; "
                         f"got {tuple(b.shape)} and {tuple(v.shape)}")
    return torch.relu(X @ W.T + b) * v


def grid_points(resolution: int = 100, extent: float = _EXTENT) -> torch.Tensor:
    """The (resolution ** 2, 2) points of a grid over [-extent, extent]^2, rows from the bottom."""
    axis = torch.linspace(-extent, extent, resolution)
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=1)


@torch.no_grad()
def _boundary_grid(model: torch.nn.Module, resolution: int = 100, extent: float = _EXTENT) -> torch.Tensor:
    """Class probabilities of ``model`` on :func:`grid_points`: (resolution, resolution, classes), CPU."""
    was_training = model.training
    model.eval()
    probabilities = torch.softmax(model(grid_points(resolution, extent).to(next(model.parameters()).device)),
                                  dim=1).cpu()
    model.train(was_training)
    return probabilities.reshape(resolution, resolution, -1)


def draw_points(ax: plt.Axes, data: Playground, split: str = "both") -> None:
    """Scatter the training points (filled) and/or test points (hollow), colored by class."""
    one_of("split", split, ("train", "test", "both"))
    styles = {"train": dict(s=12, edgecolor="white", linewidth=0.4),
              "test": dict(s=14, facecolor="none", linewidth=0.9)}
    for k, color in enumerate(_CLASS_COLORS[:data.num_classes]):
        for part in ("train", "test") if split == "both" else (split,):
            X = getattr(data, f"X_{part}")[getattr(data, f"y_{part}") == k].cpu().numpy()
            ax.scatter(X[:, 0], X[:, 1], color=color, label=f"class {k} ({part})", **styles[part])
    _square(ax)


def _square(ax: plt.Axes) -> None:
    ax.set(xlim=(-_EXTENT, _EXTENT), ylim=(-_EXTENT, _EXTENT), aspect="equal", xlabel="$x_1$", ylabel="$x_2$")


def draw_boundary(ax: plt.Axes, model: torch.nn.Module, data: Playground | None = None,
                  resolution: int = 150, title: str = "") -> None:
    """Shade each grid cell by the class ``model`` predicts, draw the boundary and the points of ``data``."""
    probabilities = _boundary_grid(model, resolution)
    num_classes = probabilities.shape[2]
    ax.imshow(probabilities.argmax(dim=2).numpy(), origin="lower", extent=(-_EXTENT, _EXTENT) * 2,
              cmap=ListedColormap(_REGION_COLORS[:num_classes]), vmin=-0.5, vmax=num_classes - 0.5,
              interpolation="nearest")
    if num_classes == 2:
        axis = torch.linspace(-_EXTENT, _EXTENT, resolution).numpy()
        ax.contour(axis, axis, probabilities[:, :, 1].numpy(), levels=[0.5], colors="black", linewidths=1)
    if data is not None:
        draw_points(ax, data)
    _square(ax)
    if title:
        ax.set_title(title, fontsize=9)


def _unit_lines(ax: plt.Axes, W: torch.Tensor, b: torch.Tensor, color: str, numbered: bool = False) -> None:
    """Draw each hidden unit's line with an arrow toward the side where it is active, then its number."""
    spots = []
    for j, (w, bias) in enumerate(zip(W.detach().cpu(), b.detach().cpu())):
        norm = w.norm().item()
        if norm == 0:
            continue
        normal = w / norm
        foot, along = -bias.item() / norm * normal, torch.tensor([-normal[1], normal[0]])
        anchor = foot + ((foot.clamp(-0.85 * _EXTENT, 0.85 * _EXTENT) - foot) @ along) * along
        ends = torch.stack([foot - 4 * _EXTENT * along, foot + 4 * _EXTENT * along])
        ax.plot(ends[:, 0].numpy(), ends[:, 1].numpy(), color=color, linewidth=0.9)
        if anchor.abs().max() <= _EXTENT:
            ax.annotate("", xy=tuple((anchor + 0.3 * normal).tolist()), xytext=tuple(anchor.tolist()),
                        arrowprops=dict(arrowstyle="-|>", color=color, linewidth=1, mutation_scale=8))
        spots.append((j, anchor + 0.38 * normal))
    for j, spot in spots if numbered else ():
        if spot.abs().max() <= 0.95 * _EXTENT:
            ax.text(*spot.tolist(), str(j), fontsize=7, color=color, ha="center", va="center",
                    bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.7))
    _square(ax)


class BoundarySnapshots(Callback):
    """A callback that draws the decision regions at the epochs ``at`` in one figure redrawn in place;
    ``snapshots[epoch]`` keeps the grid of class probabilities and the test accuracy."""

    def __init__(self, data: Playground, at: Sequence[int], resolution: int = 100, title: str = "") -> None:
        if not at:
            raise ValueError("at must list at least one epoch, e.g. at=(1, 10, 100)")
        self.at = sorted({positive_int("at[i]", e) for e in at})
        self.data, self.resolution, self.title = data, positive_int("resolution", resolution), title
        self.snapshots: dict[int, tuple[torch.Tensor, float]] = {}

    def on_fit_start(self, trainer: Trainer) -> None:
        late = [e for e in self.at if e > trainer.max_epochs]
        if late:
            raise ValueError(f"snapshot epochs {late} are after the last epoch ({trainer.max_epochs})")
        self.fig, axes = plt.subplots(1, len(self.at), figsize=(2.6 * len(self.at), 2.9), squeeze=False)
        self.axes, self.handle = list(axes[0]), None
        plt.close(self.fig)
        for ax, epoch in zip(self.axes, self.at):
            draw_points(ax, self.data, "train")
            ax.set_title(f"epoch {epoch}", fontsize=9)
        if self.title:
            self.fig.suptitle(self.title, fontsize=10)
        self.fig.tight_layout()
        _redraw(self)

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        if record.epoch in self.at:
            self.snapshots[record.epoch] = (_boundary_grid(trainer.model, self.resolution), record.eval_acc)
            ax = self.axes[self.at.index(record.epoch)]
            ax.clear()
            draw_boundary(ax, trainer.model, resolution=self.resolution)
            draw_points(ax, self.data, "train")
            ax.set_title(f"epoch {record.epoch}: test acc {record.eval_acc:.2f}", fontsize=9)
            _redraw(self)


def _explorer_figure(data: Playground, seed: int | None, epochs: int, num_hiddens: int, num_layers: int,
                     activation: str, lr: float) -> plt.Figure:
    """Train one playground network and draw its decision regions."""
    run = _run(data, seed, num_hiddens, num_layers, activation, lr, epochs)
    fig, ax = plt.subplots(figsize=(4.4, 4.4))
    draw_boundary(ax, run.model, data)
    ax.legend(fontsize=7, loc="lower left", framealpha=0.9)
    shape = "linear" if num_layers == 0 else f"{num_layers} x {num_hiddens} {activation}"
    steps = f"{epochs} steps" if run.history.stopped is None else \
        f"diverged after {len(run.history)} of {epochs} steps"
    accuracy = evaluate(run.model, data.test_dataloader())[1]
    ax.set_title(f"{shape}, lr {lr:.3g}, {steps}: test accuracy {accuracy:.2f}", fontsize=9)
    fig.tight_layout()
    return fig


# what the book's precomputed playground explorer stores: 48 runs, one seed each
STATIC_GRID = Grid({"num_layers": (0, 1, 2), "num_hiddens": (2, 4, 8, 32), "activation": ("relu", "tanh"),
                    "lr": (0.1, LR)}, epochs=EPOCHS,
                   labels={"num_layers": "hidden layers", "num_hiddens": "units per layer"})
_RESOLUTION = 24  # grid cells per side of the stored decision regions


def playground_explorer(data: Playground, seed: int | None = None, epochs: int = EPOCHS) -> "RetrainExplorer":
    """A RetrainExplorer over units per layer, hidden layers, activation and learning rate on ``data``."""
    from .widgets import RetrainExplorer, _dropdown, _int_slider, _log_slider

    controls = {"num_hiddens": _int_slider("units per layer", 16, 1, 64),
                "num_layers": _int_slider("hidden layers", 1, 0, 3),
                "activation": _dropdown("activation", sorted(ACTIVATIONS), "relu"),
                "lr": _log_slider("learning rate", LR, -2, 1)}

    def static() -> None:  # every setting of STATIC_GRID, trained or read back, shown as one chart
        grid, steps, fixed_seed = STATIC_GRID.shrunk(), budget(epochs, min(epochs, 30)), seed_or_default(seed)

        def row(combo: dict[str, Any]) -> dict[str, Any]:
            run = _run(data, fixed_seed, **combo, epochs=steps)
            probabilities = _boundary_grid(run.model, _RESOLUTION)[..., 1].flatten()
            return {**combo, "p": [round(float(p), 2) for p in probabilities],
                    "acc": evaluate(run.model, data.test_dataloader())[1]}

        spec = {"grid": grid.values, "epochs": steps, "seed": fixed_seed, "resolution": _RESOLUTION,
                "data": {"train": len(data.y_train), "test": len(data.y_test)}}
        # leave=True: a closed bar would leave an output pointing at a widget that no longer exists
        rows = stored("playground", spec, lambda: [row(combo) for combo in tqdm(
            grid.combinations(), desc="precomputing the playground grid", leave=True, disable=storing())],
            len(grid.combinations()))
        points = [{"x": round(float(a), 3), "y": round(float(b), 3), "label": int(c)}
                  for (a, b), c in zip(data.X_train.cpu(), data.y_train.cpu())]
        default = {"num_hiddens": 8, "num_layers": 1, "activation": "relu", "lr": LR}
        show_static(boundary_chart(rows, points, grid, default, _RESOLUTION, _EXTENT,
                                   title="The spiral: precomputed runs"),
                    describe(grid, {}, fixed_seed, length=f"{steps} full-batch steps each"))

    return RetrainExplorer(controls, lambda **values: _explorer_figure(data, seed, epochs, **values),
                           title="Train on the spiral: units per layer, hidden layers, activation, "
                                 "learning rate",
                           static=static)


def plot_unit_lines(model: DeepMLP, data: Playground, title: str = "") -> plt.Figure:
    """The decision regions of a one-hidden-layer network under every hidden unit's line: blue for
    units that vote for class 0 (``v_j < 0``), red for class 1."""
    W, b, v, _ = hidden_layer(model)
    fig, ax = plt.subplots(figsize=(5.8, 5.8))
    draw_boundary(ax, model, data)
    ax.get_images()[0].set_alpha(0.45)  # lighter regions, so the lines stand out
    ax.legend(handles=[Line2D([], [], color=_CLASS_COLORS[1], label="$v_j > 0$: pushes toward class 1"),
                       Line2D([], [], color=_CLASS_COLORS[0], label="$v_j < 0$: pushes toward class 0")],
              fontsize=7, loc="lower left", framealpha=0.9)
    for sign, color in ((-1, _CLASS_COLORS[0]), (1, _CLASS_COLORS[1])):
        # the other units' rows zeroed: no line for them, and every unit keeps its number
        _unit_lines(ax, W * (v.sign() == sign)[:, None], b, color, numbered=True)
    ax.set_title(title or f"{len(b)} hidden units: each is zero on one side of its line,\n"
                 "positive on the side its arrow points to", fontsize=9)
    fig.tight_layout()
    return fig
def plot_contributions(model: DeepMLP, data: Playground, units: Sequence[int], resolution: int = 120) -> plt.Figure:
    """Heatmaps of the chosen hidden units' contributions ``v_j relu(w_j . x + b_j)`` on the grid, then the
    network's score (their sum over all units plus ``c``) with the boundary."""
    W, b, v, c = (t.cpu() for t in hidden_layer(model))
    units = [int(j) for j in units]
    if not units or any(not 0 <= j < len(b) for j in units):
        raise ValueError(f"units must list hidden units in 0..{len(b) - 1}, got {units}")
    parts = unit_contributions(grid_points(resolution), W, b, v)
    panels = [(parts[:, j], f"unit {j}: $v_{{{j}}}$ = {v[j].item():+.2f}", j) for j in units]
    panels.append((parts.sum(dim=1) + c, f"score $s$: the sum of all {len(b)}, plus $c$", None))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.7 * len(panels) + 0.6, 3.1))
    unit_limit = max(float(parts[:, units].abs().max()), 1e-6)  # one colour scale for all the units
    for ax, (values, title, j) in zip(axes, panels):
        grid = values.reshape(resolution, resolution).numpy()
        limit = unit_limit if j is not None else max(float(abs(grid).max()), 1e-6)
        image = ax.imshow(grid, origin="lower", extent=(-_EXTENT, _EXTENT) * 2, cmap="RdBu_r",
                          vmin=-limit, vmax=limit)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        ax.set_title(title, fontsize=9)
        _square(ax)
        if j is not None:
            _unit_lines(ax, W[j:j + 1], b[j:j + 1], color="black")
        else:
            axis = torch.linspace(-_EXTENT, _EXTENT, resolution).numpy()
            ax.contour(axis, axis, grid, levels=[0], colors="black", linewidths=1)
    for ax in axes[1:]:
        ax.set_ylabel("")
    fig.tight_layout()
    return fig
