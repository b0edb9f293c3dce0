"""Interactive explorers: sliders, a button that retrains, and an output that redraws."""
from __future__ import annotations

import html
import io
import re
from functools import partial
from typing import Any, Callable, Mapping

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import Image, display

from .experiments import Settings, sweep, train
from .models import ACTIVATIONS, INITIALIZATIONS
from .plots import draw_history
from .config import course_seed
from .precomputed import Grid, describe, show_static, static_chart, stored, storing

_WIDE = {"description_width": "initial"}


class RetrainExplorer:
    """Controls plus a *Retrain* button that calls ``run(**values)`` and shows the figure it returns;
    ``runs``, ``last_values`` and ``last_result`` keep what it did."""

    def __init__(self, controls: Mapping[str, widgets.ValueWidget],
                 run: Callable[..., Any], title: str = "", static: Callable[[], None] | None = None) -> None:
        self.controls, self.run, self.static = dict(controls), run, static
        self.button = widgets.Button(description="Retrain", button_style="primary",
                                     icon="refresh", tooltip="Train again with these settings")
        self.status, self.output, self.runs = widgets.HTML(), widgets.Output(), 0
        self.last_values: dict[str, Any] | None = None
        self.last_result: Any = None
        self.button.on_click(lambda _button: self.retrain())
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        self.widget = widgets.VBox(
            header + [widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                      widgets.HBox([self.button, self.status]), self.output])

    def retrain(self) -> Any:
        """Run once with the controls' values and write the result into the output widget's state
        (so the saved notebook keeps it); an error is shown in the status line and raised."""
        values = {name: control.value for name, control in self.controls.items()}
        described = html.escape(", ".join(f"{name}={f'{value:.3g}' if isinstance(value, float) else value}"
                                          for name, value in values.items()))
        self.button.disabled = True
        self.status.value = f"<i>training with {described} ...</i>"
        try:
            result = self.run(**values)
        except Exception as error:
            self.status.value = (f"<span style='color:#b00020'>failed with {described}: "
                                 f"{html.escape(type(error).__name__)}: {html.escape(str(error))}</span>")
            raise
        finally:
            self.button.disabled = False
        self.output.outputs = ()
        if isinstance(result, plt.Figure):  # shown as a PNG image, and closed
            buffer = io.BytesIO()
            result.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
            plt.close(result)
            self.output.append_display_data(Image(data=buffer.getvalue(), format="png"))
        elif result is not None:
            self.output.append_display_data(result)
        self.runs += 1
        self.last_values, self.last_result = values, result
        self.status.value = f"run {self.runs}: {described}"
        return result

    def show(self) -> "RetrainExplorer":
        """Display the explorer, draw the default result, then the precomputed grid (``static``)."""
        display(self.widget)
        self.retrain()
        if self.static is not None:
            self.static()
        return self


def _log_slider(description: str, value: float, low_exp: float, high_exp: float) -> widgets.FloatLogSlider:
    return widgets.FloatLogSlider(value=value, base=10, min=low_exp, max=high_exp, step=0.25,
                                  description=description, readout_format=".3g", style=_WIDE)


def _int_slider(description: str, value: int, low: int, high: int, step: int = 1) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=low, max=high, step=step, description=description, style=_WIDE)


def _dropdown(description: str, options: list[str], value: str) -> widgets.Dropdown:
    return widgets.Dropdown(options=options, value=value, description=description, style=_WIDE)


_epochs = partial(_int_slider, "epochs", 3, 1, 20)
# name -> new controls (a saved notebook keeps no unused widgets) and the settings the book precomputes
# (one seed per setting, 10 epochs, about a minute or less per explorer)
_EXPLORERS: dict[str, tuple[Callable[[], dict[str, widgets.ValueWidget]], dict[str, tuple]]] = {
    "training": (lambda: {"num_hiddens": _int_slider("hidden units", 256, 16, 1024, 16),
                          "lr": _log_slider("learning rate", 0.1, -3, 0.5), "epochs": _epochs()},
                 {"num_hiddens": (64, 256, 1024), "lr": (0.03, 0.1, 0.3)}),
    "width": (lambda: {"num_hiddens": _int_slider("hidden units", 256, 1, 2048), "epochs": _epochs()},
              {"num_hiddens": (1, 4, 16, 64, 256, 1024)}),
    "depth": (lambda: {"num_layers": _int_slider("hidden layers", 2, 0, 5),
                       "num_hiddens": _int_slider("units per layer", 256, 8, 1024, 8), "epochs": _epochs()},
              {"num_layers": (0, 1, 2, 3, 4), "num_hiddens": (64, 256)}),
    "learning_rate": (lambda: {"lr": _log_slider("learning rate", 0.1, -3, 1), "epochs": _epochs()},
                      {"lr": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)}),
    "activation": (lambda: {"activation": _dropdown("activation", sorted(ACTIVATIONS), "relu"),
                            "lr": _log_slider("learning rate", 0.1, -3, 0.5), "epochs": _epochs()},
                   {"activation": tuple(sorted(ACTIVATIONS)), "lr": (0.03, 0.1, 0.3)}),
    "initialization": (lambda: {"init": _dropdown("initialization", list(INITIALIZATIONS), "normal"),
                                "sigma": _log_slider("sigma (normal)", 0.01, -4, 0.5),
                                "num_layers": _int_slider("hidden layers", 1, 1, 4), "epochs": _epochs()},
                       {"init": tuple(INITIALIZATIONS), "num_layers": (1, 2, 4)}),
}


def _training_run(data, seed: int | None = None, **settings: Any) -> plt.Figure:
    """Train one MLP with these settings; a figure of its curves and final accuracy."""
    run = train(Settings(**settings), data, seed)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3))
    draw_history(run.history, ax_loss, ax_acc, run.settings.epochs)
    verdict = f"stopped early ({run.history.stopped})" if run.history.stopped else \
        f"final {run.history.split} accuracy {run.acc:.4f}"
    fig.suptitle(f"{run.model.describe()}, lr={run.settings.lr:.3g}: {verdict}", fontsize=10)
    fig.tight_layout()
    return fig


def explorer(name: str, data, title: str = "", **fixed: Any) -> RetrainExplorer:
    """The retraining explorer ``name`` over ``data``; ``fixed`` sets settings that have no control.
    ``.show()`` displays it and draws the default run."""
    if name not in _EXPLORERS:
        raise ValueError(f"no explorer named {name!r}; choose one of {sorted(_EXPLORERS)}")
    make_controls, values = _EXPLORERS[name]
    controls = make_controls()
    clash = set(fixed) & set(controls)
    if clash:
        raise ValueError(f"{sorted(clash)} already have controls in the {name!r} explorer; "
                         "set them with the sliders instead")
    grid = Grid(values, labels={k: controls[k].description for k in values}).shrunk()

    def static() -> None:
        defaults = {key: control.value for key, control in controls.items()}
        # controls the grid does not vary keep their default values in every precomputed run
        held = {**fixed, **{k: v for k, v in defaults.items() if k not in grid.values and k != "epochs"}}
        spec = {"grid": grid.values, "epochs": grid.epochs, "fixed": held, "seed": course_seed(),
                "data": {"train": len(data.y_train), "val": len(data.y_val), "test": len(data.y_test)}}
        combos = grid.combinations()

        def make() -> list[dict[str, Any]]:  # a row per epoch of each run
            results = sweep(combos, data, base=Settings(**held, epochs=grid.epochs), seeds=1,
                            progress=False if storing() else None)
            return [{**c, "epoch": r.epoch, "train_loss": r.train_loss, "acc": r.eval_acc, "split": g.split}
                    for c, g in zip(combos, results.groups) for r in g.runs[0].history.records]

        slug = "-".join(re.findall(r"[a-z0-9]+", title.lower()))[:60] or "untitled"
        rows = stored(f"{name}-{slug}", spec, make, len(combos))
        show_static(static_chart(rows, grid, defaults, title=f"{title or name}: precomputed runs"),
                    describe(grid, held))

    return RetrainExplorer(controls, lambda **values: _training_run(data, **fixed, **values),
                           title=title, static=static)
