"""Interactive explorers: sliders, a button that retrains, and an output that redraws."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

__all__ = ["RetrainExplorer"]


class RetrainExplorer:
    """Controls plus a *Retrain* button; each press calls ``run(**values)`` and shows its result.

    ``run`` receives the current value of every control by name and returns a matplotlib
    figure (or anything displayable). :meth:`show` displays the controls and draws the default
    result once, so a static copy of the notebook (the HTML book, CI) shows a real run.

    The explorer keeps what it did, for tests and for the curious: ``runs`` counts presses
    that finished, ``last_values`` and ``last_result`` hold the latest run.
    """

    def __init__(self, controls: Mapping[str, widgets.ValueWidget],
                 run: Callable[..., Any], title: str = "", button_text: str = "Retrain") -> None:
        if not controls:
            raise ValueError("controls must name at least one widget")
        self.controls = dict(controls)
        self.run = run
        self.button = widgets.Button(description=button_text, button_style="primary",
                                     icon="refresh", tooltip="Train again with these settings")
        self.status = widgets.HTML()
        self.output = widgets.Output()
        self.runs = 0
        self.last_values: dict[str, Any] | None = None
        self.last_result: Any = None
        self.button.on_click(lambda _button: self.retrain())
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        self.widget = widgets.VBox(
            header + [widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                      widgets.HBox([self.button, self.status]), self.output])

    def values(self) -> dict[str, Any]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def retrain(self) -> Any:
        """Run once with the current values and replace the output with the new result."""
        values = self.values()
        self.button.disabled = True
        self.status.value = "training " + ", ".join(f"{k}={v}" for k, v in values.items()) + " ..."
        try:
            with self.output:
                self.output.clear_output(wait=True)
                result = self.run(**values)
                if isinstance(result, plt.Figure):
                    display(result)
                    plt.close(result)
                elif result is not None:
                    display(result)
        finally:
            self.button.disabled = False
        self.runs += 1
        self.last_values, self.last_result = values, result
        self.status.value = "done: " + ", ".join(f"{k}={v}" for k, v in values.items())
        return result

    def show(self) -> "RetrainExplorer":
        """Display the explorer and draw the default result once."""
        display(self.widget)
        self.retrain()
        return self
