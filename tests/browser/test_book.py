"""Open every page of the built book in headless Chromium with the network blocked.

Run after ``jupyter-book build`` (``make test`` does both). For each page: no console errors,
no failed or attempted network requests, math typeset by MathJax, every image loaded and
described (alt text that is not a file name), and the
saved widgets drawn where the notebook has them, and every precomputed explorer drawn and
answering its controls: moving its slider (and a radio button) changes the figure, and the
retraining widget beside it, which needs a kernel, is hidden. A screenshot of each page is saved in
``_build/screenshots``.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
SCREENSHOTS = HTML.parent / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def book_pages() -> list[Path]:
    if not (HTML / "index.html").exists():
        raise RuntimeError(f"No built book in {HTML}: run `make book` (or `make test`) first.")
    pages = [p for p in sorted(HTML.rglob("*.html"))
             if not {"_static", "_sources", "_images"} & set(p.relative_to(HTML).parts)
             and p.name not in ("genindex.html", "search.html")]
    return pages


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: apt-get install chromium, or set $CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def page_ids() -> list[str]:
    try:
        return [str(p.relative_to(HTML)) for p in book_pages()]
    except RuntimeError:
        return ["<no built book>"]


@pytest.mark.parametrize("relative", page_ids())
def test_page_renders_offline(browser, relative):
    path = HTML / relative
    assert path.exists(), f"No built book page {path}: run `make book` first."
    html_source = path.read_text(encoding="utf-8")
    has_math = 'class="math' in html_source
    has_widgets = "application/vnd.jupyter.widget-view+json" in html_source

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def block_network(route):
        if route.request.url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", block_network)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}")
            if not req.url.startswith(("http:", "https:")) else None)
    page.goto(path.as_uri(), wait_until="load")

    if has_math:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("() => MathJax.startup.promise")
        typeset = page.locator("mjx-container").count()
        untypeset = page.evaluate(
            "() => [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container')).length")
        assert typeset > 0 and untypeset == 0, f"{relative}: {untypeset} formulas left untypeset"
        assert page.locator("mjx-merror").count() == 0, f"{relative}: MathJax reported a TeX error"
    if has_widgets:
        # attached, not necessarily visible: the book hides an explorer's kernel-only widget
        page.wait_for_selector(".jupyter-widgets", state="attached", timeout=20000)
        drawn = page.evaluate("() => document.querySelectorAll('.jupyter-widgets').length")
        scripts = page.evaluate(
            "() => document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
        assert drawn >= scripts > 0, f"{relative}: {scripts} saved widgets but {drawn} drawn"
        missing = page.evaluate(
            "() => [...document.querySelectorAll('.jupyter-widgets')].filter(e => /Error|cannot|failed/i.test(e.className)).length")
        assert missing == 0, f"{relative}: a widget failed to render"

    if "mlp-static-explorer" in html_source:
        _check_static_explorers(page, relative)

    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=20000)
    broken = page.evaluate(
        "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
    assert not broken, f"{relative}: images that did not load: {broken}"
    # a screen reader reads the alt text aloud: a file name (myst-nb's default, the image's hash)
    # says nothing about the figure
    unnamed = page.evaluate(
        "() => [...document.images].filter(i => !i.closest('.jupyter-widgets'))"
        ".map(i => i.getAttribute('alt') || '').filter(a => a.trim() === '' || /[.](png|svg|jpe?g)$/i.test(a.trim())"
        " || /^[0-9a-f]{32,}/.test(a.trim()) || a.includes('_images/'))")
    assert not unnamed, f"{relative}: images without a description (alt text): {unnamed[:3]}"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / (relative.replace("/", "__") + ".png")), full_page=True)
    context.close()
    assert not blocked, f"{relative}: the page tried to reach the network: {blocked}"
    assert not errors, f"{relative}: console errors: {errors}"


def _check_static_explorers(page, relative: str) -> None:
    """Each precomputed explorer draws, hides the kernel-only widget, and answers its controls."""
    explorers = page.locator("div.mlp-static-explorer")
    count = explorers.count()
    assert count > 0, f"{relative}: a precomputed explorer in the source but none on the page"
    for i in range(count):
        explorer = explorers.nth(i)
        explorer.locator("svg.marks").wait_for(timeout=20000)
        hidden = page.evaluate(
            "(i) => { const out = document.querySelectorAll('div.mlp-static-explorer')[i].closest('.cell_output');"
            " return [...out.querySelectorAll('.jupyter-widgets')].every(w => w.offsetParent === null); }", i)
        assert hidden, f"{relative}: explorer {i}: the retraining widget (needs a kernel) is visible in the book"
        sliders = explorer.locator("input[type=range]")
        assert sliders.count() > 0, f"{relative}: explorer {i} has no slider"
        before = explorer.locator("svg.marks").inner_html()
        page.evaluate(
            "(el) => { const next = Number(el.value) > Number(el.min) ? el.min : el.max;"
            " el.value = next; el.dispatchEvent(new Event('input', {bubbles: true})); }",
            sliders.first.element_handle())
        page.wait_for_timeout(300)
        assert explorer.locator("svg.marks").inner_html() != before, \
            f"{relative}: explorer {i}: moving its slider did not change the figure"
        radios = explorer.locator("input[type=radio]")
        changed = False
        for k in range(radios.count()):  # a setting may not matter for some runs (width at depth 0)
            if radios.nth(k).is_checked():
                continue
            before = explorer.locator("svg.marks").inner_html()
            radios.nth(k).check()
            page.wait_for_timeout(300)
            if explorer.locator("svg.marks").inner_html() != before:
                changed = True
                break
        assert changed or radios.count() == 0, f"{relative}: explorer {i}: no radio button changed the figure"
