"""Every retraining explorer, driven through its Python objects as a reader would drive it."""
from __future__ import annotations

import ipywidgets as widgets
import pytest

from mlp_utils.widgets import RetrainExplorer, explorer

EXPLORER_NAMES = ("training", "width", "depth", "learning_rate", "activation", "initialization")

# A non-default value for every control any explorer has.
NEW_VALUES = {
    "num_hiddens": 48, "num_layers": 2, "lr": 0.3, "epochs": 2,
    "activation": "tanh", "init": "kaiming", "sigma": 0.1,
}


@pytest.mark.parametrize("name", EXPLORER_NAMES)
def test_explorer_retrains_with_the_slider_values(name, small_data):
    ui = explorer(name, small_data, title=name)
    ui.retrain()  # the default run that show() draws
    assert ui.runs == 1 and len(ui.output.outputs) == 1
    first_image = ui.output.outputs[0]["data"]["image/png"]

    for control_name, control in ui.controls.items():
        control.value = NEW_VALUES[control_name]
    ui.button.click()

    assert ui.runs == 2
    expected = {control_name: NEW_VALUES[control_name] for control_name in ui.controls}
    assert ui.last_values.keys() == expected.keys()
    for key, value in expected.items():
        assert ui.last_values[key] == (pytest.approx(value) if isinstance(value, float) else value)
    title = ui.last_result.get_suptitle()
    if "lr" in expected:
        assert "lr=0.3" in title
    if "num_hiddens" in expected:
        assert "48" in title
    if "activation" in expected:
        assert "tanh" in title
    if "init" in expected:
        assert "kaiming init" in title
    # the output was redrawn: one new image replaced the old one
    assert len(ui.output.outputs) == 1
    assert ui.output.outputs[0]["data"]["image/png"] != first_image
    assert "run 2" in ui.status.value and not ui.button.disabled


def test_a_failing_run_is_reported_and_raised():
    def broken(**values):
        raise RuntimeError("out of memory")

    ui = RetrainExplorer({"x": widgets.IntSlider(value=1)}, broken)
    with pytest.raises(RuntimeError):
        ui.retrain()
    assert "out of memory" in ui.status.value and ui.runs == 0 and not ui.button.disabled


def test_explorer_rejects_unknown_names_and_clashing_settings(small_data):
    with pytest.raises(ValueError, match="no explorer named"):
        explorer("nonsense", small_data)
    with pytest.raises(ValueError, match="already have controls"):
        explorer("width", small_data, num_hiddens=3)


def test_stored_runs_are_made_once_and_read_back_for_the_same_spec(tmp_path, monkeypatch, capsys):
    """`make execute` trains a precomputed grid and stores it; a reader's kernel reads it back for
    the same grid, settings, data and seed, and trains again for anything else."""
    from mlp_utils import precomputed

    monkeypatch.setattr(precomputed, "_STORE_DIR", tmp_path)
    calls = []

    def make(value):
        calls.append(value)
        return [{"lr": value, "epoch": 1, "acc": 0.5}]

    monkeypatch.setenv("MLP_COURSE_STORE", "1")
    assert precomputed.stored("demo", {"seed": 0, "grid": (0.1,)}, lambda: make(1), runs=1)[0]["lr"] == 1
    assert (tmp_path / "demo.json").exists() and calls == [1]
    monkeypatch.delenv("MLP_COURSE_STORE")
    capsys.readouterr()
    # the same spec (tuples and lists alike, as JSON stores them): read back, nothing trained
    assert precomputed.stored("demo", {"grid": [0.1], "seed": 0}, lambda: make(2), runs=1)[0]["lr"] == 1
    assert calls == [1] and capsys.readouterr().out == ""
    # another seed: trained in the kernel, and the stored file is left as it was
    assert precomputed.stored("demo", {"grid": [0.1], "seed": 1}, lambda: make(3), runs=1)[0]["lr"] == 3
    assert calls == [1, 3] and "trained the 1 runs" in capsys.readouterr().out
    assert '"lr":1' in (tmp_path / "demo.json").read_text()


def test_colab_gets_the_stored_chart_as_html(monkeypatch):
    """Colab ignores the Vega-Lite MIME type; there the chart goes out as vega-embed HTML."""
    import sys
    import types

    import altair as alt

    from mlp_utils import precomputed

    shown = []
    monkeypatch.setattr(precomputed, "display", lambda obj, **kw: shown.append(obj))
    chart = alt.Chart(alt.Data(values=[{"x": 1, "y": 2}])).mark_point().encode(x="x:Q", y="y:Q")
    precomputed.show_static(chart, "a note")
    assert precomputed.VEGALITE_MIME in shown[-1]
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    precomputed.show_static(chart, "a note")
    assert "vega-embed" in shown[-1].data and "a note" in shown[-1].data
