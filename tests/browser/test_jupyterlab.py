"""JupyterLab 4 from the venv, driven in headless Chromium: saved widgets render on first open,
an explorer retrains with new slider values, and the widgets still render after a reopen.

The notebook is a small one built here around a course explorer (so the test takes about a
minute), executed first the way ``make execute`` executes the chapters (widget state saved), and
trusted the way ``make lab`` trusts them. JupyterLab runs with the settings the Makefile ships
(``tools/jupyter/overrides.json`` in the venv: widget state saved with the notebook, no news).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TOKEN = "course-lab-test"
RAW_WIDGET_TEXT = ("VBox(children=", "HBox(children=", "IntSlider(value=")
WIDGET_ERRORS = ("Error displaying widget", "model not found")

CELLS = [
    "import mlp_utils\nfrom mlp_utils import FashionMNIST\nfrom mlp_utils.widgets import explorer",
    "data = FashionMNIST(validation_size=1_000, num_train=2_000, device=mlp_utils.pick_device())",
    'width_explorer = explorer("width", data, title="Hidden units").show()',
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _lab_server(root: Path, env: dict, home: Path):
    """JupyterLab on ``root``, with the venv's settings; yields its URL, stops it afterwards."""
    port = _free_port()
    command = [str(VENV_BIN / "jupyter"), "lab", "--no-browser", f"--port={port}",
               f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"JupyterLab exited:\n{(home / 'lab.log').read_text()}")
                time.sleep(0.5)
        else:
            raise RuntimeError(f"JupyterLab did not start:\n{(home / 'lab.log').read_text()}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(home / "runtime", ignore_errors=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: apt-get install chromium, or set $CHROMIUM")
    home = tmp_path_factory.mktemp("lab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    env = {**os.environ, "HOME": str(home), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "MLP_COURSE_QUICK": "1",
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                       "name": "python3"}
    os.environ["MLP_COURSE_QUICK"] = "1"
    NotebookClient(notebook, timeout=600, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(notebooks)}}).execute()
    path = notebooks / "explorer.ipynb"
    nbformat.write(notebook, path)
    chapter = notebooks / "01_data.ipynb"
    shutil.copy(ROOT / "chapters" / chapter.name, chapter)
    subprocess.run([str(VENV_BIN / "jupyter"), "trust", str(path), str(chapter)], env=env, check=True,
                   capture_output=True)
    with _lab_server(notebooks, env, home) as url:
        yield {"url": url, "path": path, "chapter": chapter, "log": home / "lab.log"}


@pytest.fixture(scope="module")
def page(lab, request):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        yield page
        shots = ROOT / "_build" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "jupyterlab_last.png"), full_page=True)
        browser.close()


def _open(page, lab, name: str | None = None) -> None:
    page.goto(f"{lab['url']}/lab/tree/{name or lab['path'].name}?token={TOKEN}")
    page.wait_for_function("() => window.jupyterapp && jupyterapp.shell.currentWidget && "
                           "jupyterapp.shell.currentWidget.context && "
                           "jupyterapp.shell.currentWidget.context.isReady", timeout=90_000)
    page.wait_for_selector(".jp-OutputArea-output", timeout=60_000)


def _assert_widgets_render(page, when: str) -> None:
    page.wait_for_selector(".jp-Notebook .widget-slider", timeout=60_000)
    page.wait_for_selector(".jp-Notebook button:has-text('Retrain')", timeout=60_000)
    text = page.inner_text(".jp-Notebook")
    for raw in RAW_WIDGET_TEXT + WIDGET_ERRORS:
        assert raw not in text, f"{when}: the notebook shows {raw!r} instead of a widget"
    # the saved run of the explorer (a PNG inside the Output widget) and the precomputed chart
    page.wait_for_selector(".jp-Notebook .widget-output img", timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-RenderedVegaCommon5 svg, .jp-Notebook .jp-RenderedVegaCommon5 canvas",
                           timeout=60_000)


def _kernel_idle(page) -> None:
    page.wait_for_function("() => { const s = jupyterapp.shell.currentWidget.sessionContext; "
                           "return s.session && s.session.kernel && s.session.kernel.status === 'idle'; }",
                           timeout=120_000)


def test_saved_widgets_render_on_first_open(page, lab):
    _open(page, lab)
    _assert_widgets_render(page, "first open")


def test_an_untouched_chapter_is_not_dirty_on_open(page, lab):
    # JupyterLab rewrites metadata it disagrees with (the kernel's display name, for one) and so
    # marks the notebook modified. (A notebook with saved widgets is re-serialized by the widget
    # manager when its state is restored, which also marks it modified; the content is the same.)
    _open(page, lab, lab["chapter"].name)
    _kernel_idle(page)
    page.wait_for_timeout(2000)
    if page.evaluate("() => jupyterapp.shell.currentWidget.context.model.dirty"):
        in_lab = page.evaluate("() => jupyterapp.shell.currentWidget.context.model.toJSON()")
        on_disk = json.loads(lab["chapter"].read_text())
        changed = {k: (on_disk["metadata"].get(k), in_lab["metadata"].get(k))
                   for k in set(on_disk["metadata"]) | set(in_lab["metadata"])
                   if on_disk["metadata"].get(k) != in_lab["metadata"].get(k)}
        raise AssertionError(f"{lab['chapter'].name} is modified as soon as it opens: metadata {changed}")
    page.evaluate("() => jupyterapp.commands.execute('application:close-all')")


def test_run_move_slider_retrain_and_reopen(page, lab):
    _open(page, lab)
    _kernel_idle(page)
    # as a reader would: click into the notebook, clear the stored outputs, run every cell
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.evaluate("() => jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function("() => jupyterapp.shell.currentWidget.content.widgets"
                           ".every(c => c.model.type !== 'code' || c.model.executionCount === null)")
    page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        "() => jupyterapp.shell.currentWidget.content.widgets"
        ".every(c => c.model.type !== 'code' || c.model.executionCount !== null)", timeout=300_000)
    _kernel_idle(page)
    status = page.locator(".jp-Notebook .widget-html:has-text('run 1:')").last
    status.wait_for(timeout=60_000)
    assert "num_hiddens=256" in status.inner_text()

    readout = page.locator(".jp-Notebook .widget-slider:has-text('hidden units') .widget-readout").last
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("32")
    page.keyboard.press("Enter")
    page.wait_for_function("(el) => el.textContent.trim() === '32'", arg=readout.element_handle())
    first_image = page.locator(".jp-Notebook .widget-output img").last.get_attribute("src")
    button = page.locator(".jp-Notebook button:has-text('Retrain')").last
    expect_enabled = "(el) => !el.disabled"
    page.wait_for_function(expect_enabled, arg=button.element_handle())
    button.click()
    page.locator(".jp-Notebook .widget-html:has-text('run 2:')").last.wait_for(timeout=180_000)
    assert "num_hiddens=32" in page.locator(".jp-Notebook .widget-html:has-text('run 2:')").last.inner_text()
    new_image = page.locator(".jp-Notebook .widget-output img").last.get_attribute("src")
    assert new_image != first_image, "Retrain finished but the explorer still shows the old figure"

    page.evaluate("() => jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    saved = json.loads(lab["path"].read_text())
    assert saved["metadata"].get("widgets"), "the saved notebook holds no widget state"
    page.evaluate("() => jupyterapp.commands.execute('kernelmenu:shutdown')")
    page.evaluate("() => jupyterapp.commands.execute('application:close-all')")
    page.wait_for_timeout(1000)
    _open(page, lab)
    _assert_widgets_render(page, "after a run, a save and a reopen")


# --- Run All on every notebook, as a learner would, then save, shut down, reopen ----------------

sys.path.insert(0, str(ROOT / "tools"))
import quick_copies  # noqa: E402

COPIES = sorted(p.name for p in (ROOT / "chapters").glob("*.ipynb"))


@pytest.fixture(scope="module")
def lab_all(tmp_path_factory):
    """JupyterLab on test copies of every chapter (quick sizes, see tools/quick_copies.py), with
    windowing off so that every cell's output is in the page when it is searched."""
    home = tmp_path_factory.mktemp("lab_all")
    quick_copies.main(["--quick", str(home)])
    root = home / "chapters"
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {**os.environ, "HOME": str(home), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "MLP_COURSE_QUICK": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    subprocess.run([str(VENV_BIN / "jupyter"), "trust", *map(str, sorted(root.glob("*.ipynb")))], env=env,
                   check=True, capture_output=True)
    with _lab_server(root, env, home) as url:
        yield {"url": url, "root": root}


def _open_alone(page, lab_all, name: str) -> None:
    """Open ``name`` as the only tab (``?reset`` clears the workspace JupyterLab would restore,
    such as the previous test's notebook) and wait until it is ready and current."""
    page.goto(f"{lab_all['url']}/lab/tree/{name}?reset&token={TOKEN}")
    page.wait_for_function("(name) => window.jupyterapp && jupyterapp.shell.currentWidget && "
                           "jupyterapp.shell.currentWidget.context && "
                           "jupyterapp.shell.currentWidget.context.isReady && "
                           "jupyterapp.shell.currentWidget.context.path.endsWith(name)", arg=name, timeout=90_000)


RUN_STATE = """() => {
  const panel = jupyterapp.shell.currentWidget;
  const code = panel.content.widgets.filter(c => c.model.type === 'code');
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const errors = code.map((c, i) => [i, c.model.outputs.toJSON().filter(o => o.output_type === 'error')])
                     .filter(([i, e]) => e.length).map(([i, e]) => `code cell ${i}: ${e[0].ename}: ${e[0].evalue}`);
  return {ran: code.filter(c => c.model.executionCount !== null).length, cells: code.length,
          busy: panel.content.widgets.some(c => c.model.type === 'code' && c.promptNode &&
                                                c.promptNode.textContent.includes('*')),
          status: kernel ? kernel.status : 'none', errors};
}"""


@pytest.mark.parametrize("name", COPIES)
def test_run_all_save_shut_down_and_reopen(page, lab_all, name):
    """Every code cell runs with Run All (nothing written in the fill-ins' stubs either way: the
    copies keep the solutions, the notebook tests run the copies without); after a save, a kernel
    shutdown and a reopen, no output points at a widget that is gone."""
    _open_alone(page, lab_all, name)
    _kernel_idle(page)
    page.evaluate("() => { const panel = jupyterapp.shell.currentWidget; jupyterapp.shell.activateById(panel.id); "
                  "panel.content.activeCellIndex = 0; }")
    page.evaluate("() => jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + 900
    while True:
        page.wait_for_timeout(2000)
        state = page.evaluate(RUN_STATE)
        assert not state["errors"], f"{name}: Run All stopped: {state['errors']}"
        if state["ran"] == state["cells"] and not state["busy"] and state["status"] == "idle":
            break
        assert time.monotonic() < deadline, f"{name}: Run All did not finish in 15 minutes: {state}"
    page.evaluate("() => jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !jupyterapp.shell.currentWidget.context.model.dirty", timeout=60_000)
    page.evaluate("() => jupyterapp.commands.execute('kernelmenu:shutdown')")
    page.evaluate("() => jupyterapp.commands.execute('application:close-all')")
    page.wait_for_timeout(1000)
    _open_alone(page, lab_all, name)
    page.wait_for_selector(".jp-OutputArea-output", timeout=60_000)
    page.wait_for_timeout(3000)  # the widget manager restores the saved models
    text = page.evaluate("() => jupyterapp.shell.currentWidget.node.innerText")
    for raw in RAW_WIDGET_TEXT + WIDGET_ERRORS:
        assert raw not in text, f"{name}, reopened after Run All and a save: the page shows {raw!r}"
    page.evaluate("() => jupyterapp.commands.execute('application:close-all')")
