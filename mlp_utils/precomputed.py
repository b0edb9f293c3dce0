"""Precomputed explorers: a grid of runs, one seed each, stored in ``mlp_utils/stored/`` when the
book is made (``$MLP_COURSE_STORE=1``) and shown as a Vega-Lite chart that needs no kernel."""
from __future__ import annotations

import html
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import altair as alt
from IPython.display import HTML, display

from .config import budget, seed_or_default
from .experiments import combinations

VEGALITE_MIME = "application/vnd.vegalite.v5+json"
# where the runs are stored; tools/learner_seconds.py points a kernel at an empty folder instead
_STORE_DIR = Path(os.environ.get("MLP_COURSE_STORED_DIR") or Path(__file__).resolve().parent / "stored")


def stored(key: str, spec: Mapping[str, Any], make: Callable[[], list[dict[str, Any]]],
           runs: int) -> list[dict[str, Any]]:
    """The rows of the explorer ``key``: read back if stored for the same ``spec``, else ``make()``d."""
    path = _STORE_DIR / f"{key}.json"
    wanted = json.loads(json.dumps(spec, sort_keys=True, default=str))
    if storing():  # making the book: store the runs, and nothing to tell its readers
        rows = make()
        _STORE_DIR.mkdir(exist_ok=True)
        path.write_text(json.dumps({"spec": wanted, "rows": rows}, separators=(",", ":")) + "\n")
        return rows
    saved = json.loads(path.read_text()) if path.exists() else {}
    if saved.get("spec") == wanted:
        return saved["rows"]
    start = time.perf_counter()
    rows = make()
    print(f"trained the {runs} runs of the precomputed explorer in {time.perf_counter() - start:.0f} s")
    return rows


def storing() -> bool:
    """True while ``make execute`` runs the notebooks to store the explorers' runs."""
    return os.environ.get("MLP_COURSE_STORE", "").strip() not in ("", "0")


@dataclass(frozen=True)
class Grid:
    """The settings an explorer precomputes, the runs' epochs, and each setting's label (as its control's)."""

    values: Mapping[str, Sequence[Any]]
    epochs: int = 10
    labels: Mapping[str, str] | None = None

    def label(self, name: str) -> str:
        return (self.labels or {}).get(name, name.replace("_", " "))

    def shrunk(self) -> "Grid":
        """The CI-sized grid: two values per setting and two epochs (see :func:`budget`)."""
        return Grid({k: list(v)[:budget(len(v), 2)] for k, v in self.values.items()},
                    budget(self.epochs, 2), self.labels)

    def combinations(self) -> list[dict[str, Any]]:
        return combinations(self.values)


def _controls(grid: Grid, default: Mapping[str, Any]) -> tuple[list[Any], str]:
    """A Vega-Lite parameter per setting (a slider for consecutive integers, else radio buttons) and
    the filter that picks the chosen run's rows."""
    params, picked = [], []
    for i, (name, options) in enumerate(grid.values.items()):
        options = list(options)
        value = default.get(name) if default.get(name) in options else options[0]
        label = f"{grid.label(name)} "
        consecutive = len(options) > 1 and all(type(v) is int for v in options) and \
            options == list(range(options[0], options[-1] + 1))
        bind = (alt.binding_range(min=options[0], max=options[-1], step=1, name=label) if consecutive
                else alt.binding_radio(options=options, name=label))
        params.append(alt.param(name=f"p{i}", value=value, bind=bind))
        picked.append(f"datum[{json.dumps(name)}] == p{i}")
    return params, " && ".join(picked) if picked else "true"


def _titled(chart: alt.Chart, title: str) -> alt.Chart:
    return chart.properties(title=alt.TitleParams(
        title or "Precomputed runs", fontSize=13, anchor="start",
        subtitle="Stored runs, one seed each; with a kernel, the explorer above retrains for any value."))


def _readout(chart: alt.Chart, text: str, width: int) -> alt.Chart:
    return (chart.transform_calculate(text=text).mark_text(align="left", fontSize=13, fontWeight="bold")
            .encode(text="text:N").properties(width=width, height=18))


def static_chart(rows: Sequence[Mapping[str, Any]], grid: Grid, default: Mapping[str, Any],
                 title: str = "") -> alt.Chart:
    """Loss and accuracy curves of the grid's run picked by the controls, over all runs in grey."""
    names = list(grid.values)
    split = rows[0]["split"]
    last = max(row["epoch"] for row in rows)
    epochs = alt.param(name="p_epochs", value=min(int(default.get("epochs", last)), last),
                       bind=alt.binding_range(min=1, max=last, step=1, name="epochs "))
    params, chosen = _controls(grid, default)
    params.insert(0, epochs)
    base = alt.Chart(alt.Data(values=[dict(r, run="|".join(str(r[n]) for n in names)) for r in rows]))
    x = alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1, format="d"),
              scale=alt.Scale(domain=[0.5, last + 0.5]))

    def panel(field: str, title_y: str) -> alt.LayerChart:
        y = alt.Y(f"{field}:Q", title=title_y, scale=alt.Scale(zero=False))
        context = base.mark_line(color="#c8c8c8", strokeWidth=1).encode(x, y, detail="run:N")
        mine = base.transform_filter(chosen).transform_filter("datum.epoch <= p_epochs")
        line = mine.mark_line(color="#1f77b4", strokeWidth=2.5, point=True).encode(
            x, y, tooltip=[*(f"{n}:N" for n in names), "epoch:Q", alt.Tooltip(f"{field}:Q", format=".4f")])
        return alt.layer(context, line).properties(width=260, height=180)

    readout = _readout(base.transform_filter(chosen).transform_filter("datum.epoch == p_epochs"),
                       "'after ' + datum.epoch + (datum.epoch == 1 ? ' epoch' : ' epochs') + ': "
                       f"{split} accuracy ' + format(datum.acc, '.4f') + ', training loss ' + "
                       "format(datum.train_loss, '.4f')", 540)
    return _titled(alt.vconcat(alt.hconcat(panel("train_loss", "training loss"), panel("acc", f"{split} accuracy")),
                               readout).add_params(*params), title)


def describe(grid: Grid, fixed: Mapping[str, Any], seed: int | None = None, length: str = "") -> str:
    """The note shown above a precomputed explorer: its grid, seed and fixed settings."""
    length = length or f"up to {grid.epochs} epochs (grey curves: every run of the grid)"
    parts = [f"{grid.label(n)} in {{{', '.join(str(v) for v in vals)}}}" for n, vals in grid.values.items()]
    kept = ", ".join(f"{k}={v}" for k, v in fixed.items())
    return (f"Precomputed when this notebook was last run: one seed ({seed_or_default(seed)}) per setting, "
            f"{' × '.join(parts) or 'one setting'}, {length}{'; ' + kept if kept else ''}. Move the "
            "controls below the chart to see each stored run. With a kernel (JupyterLab, Colab), the "
            "explorer above retrains for any value.")


def show_static(chart: alt.Chart, note: str) -> None:
    """Display ``chart`` as Vega-Lite with ``note`` as its description (as HTML on Colab)."""
    chart = chart.properties(description=note)
    if "google.colab" in sys.modules:  # Colab draws Altair through HTML, not the Vega-Lite MIME type
        display(HTML(f"<p>{html.escape(note)}</p>" + chart.to_html()))
        return
    display({VEGALITE_MIME: chart.to_dict(), "text/plain": f"<precomputed explorer: {note}>"}, raw=True)


def boundary_chart(settings_rows: Sequence[Mapping[str, Any]], points: Sequence[Mapping[str, Any]],
                   grid: Grid, default: Mapping[str, Any], resolution: int, extent: float,
                   title: str = "") -> alt.Chart:
    """Decision regions of the picked run (``p``: P(class 1) per cell, from the bottom) under ``points``."""
    params, chosen = _controls(grid, default)
    step = 2 * extent / resolution
    domain = alt.Scale(domain=[-extent, extent], nice=False)
    cells = (alt.Chart(alt.Data(values=list(settings_rows))).transform_filter(chosen)
             .transform_flatten(["p"]).transform_window(k="row_number()")
             .transform_calculate(x=f"{-extent} + ((datum.k - 1) % {resolution}) * {step}",
                                  y=f"{-extent} + floor((datum.k - 1) / {resolution}) * {step}")
             .transform_calculate(x2=f"datum.x + {step}", y2=f"datum.y + {step}")
             .mark_rect(opacity=0.75)
             .encode(x=alt.X("x:Q", scale=domain, title="x₁"), x2="x2:Q",
                     y=alt.Y("y:Q", scale=domain, title="x₂"), y2="y2:Q",
                     color=alt.Color("p:Q", scale=alt.Scale(scheme="redblue", reverse=True, domain=[0, 1]),
                                     title="P(class 1)")))
    dots = alt.Chart(alt.Data(values=list(points))).mark_circle(size=18, stroke="white", strokeWidth=0.5,
                                                                 opacity=0.9).encode(
        x=alt.X("x:Q", scale=domain), y=alt.Y("y:Q", scale=domain),
        fill=alt.Fill("label:N", scale=alt.Scale(domain=[0, 1], range=["#1f77b4", "#d62728"]), title="class"))
    readout = _readout(alt.Chart(alt.Data(values=list(settings_rows))).transform_filter(chosen),
                       "'test accuracy ' + format(datum.acc, '.2f')", 330)
    return _titled(alt.vconcat(alt.layer(cells, dots).properties(width=330, height=330), readout)
                   .add_params(*params), title)
