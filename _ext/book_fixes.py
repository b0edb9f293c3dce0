"""A Sphinx extension for the course's book: two fixes for pages that must work offline.

1. Drop script tags that appear twice on a page.

Under jupyter-book 1.0.4, sphinx-thebe 0.3.1's inline configuration script
(``const THEBE_JS_URL = ...``) reaches every page twice (once with filename None, once with ''),
so each page declared the same constant twice and the browser logged a SyntaxError. Keeping the first copy of each
identical script fixes that without touching the packages themselves.

2. Add ``mathjax2-shim.js`` (in ``static/`` beside this file): the ipywidgets HTML manager
typesets widget labels with MathJax 2's ``MathJax.Hub.Queue``, which MathJax 3 lacks, so every
saved widget logged a TypeError. The shim maps that call onto MathJax 3.

3. Serve the *Open in Colab* badge from the book itself. The notebooks link Colab's badge image by
its absolute URL (so a copy saved to Drive still shows it); the offline book has no network, so
each page's copy of that URL points to ``static/colab-badge.svg`` instead.

4. Precomputed explorers (``mlp_utils.precomputed``) are stored as Vega-Lite 5 outputs, the MIME
type JupyterLab and Colab draw themselves. myst-nb has no renderer for it, so this extension adds
one (:class:`VegaLiteOutput`, registered under myst-nb's entry point group
``myst_nb.mime_renderers`` by ``_ext/pyproject.toml``, which ``make setup`` installs): the output becomes its
description and a ``vegaEmbed`` call. A page that has one gets the vendored
Vega, Vega-Lite and vega-embed scripts (before RequireJS, so they define globals rather than
anonymous AMD modules), and ``explorers.css``, which hides the retraining widget in that cell's
output: it needs a kernel, which the book does not have; the precomputed chart stands in for it.
"""
from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx


def _script_key(script: Any) -> tuple:
    """What makes two script entries the same tag (a missing filename may be None or '')."""
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", script) or ""
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str,
                           context: dict, doctree: Any) -> None:
    """Keep only the first of identical entries in the page's ``script_files``."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def serve_badge_locally(app: Sphinx, pagename: str, templatename: str,
                        context: dict, doctree: Any) -> None:
    """Point the page's Colab badge image at the book's own copy."""
    body = context.get("body")
    if body and COLAB_BADGE in body:
        context["body"] = body.replace(COLAB_BADGE, context["pathto"]("_static/colab-badge.svg", 1))


STATIC_EXPLORER = "mlp-static-explorer"
VEGALITE_MIME = "application/vnd.vegalite.v5+json"


class VegaLiteOutput:
    """myst-nb mime renderer: a Vega-Lite 5 output becomes its description and a ``vegaEmbed`` call."""

    mime_priority_overrides = [("html", VEGALITE_MIME, 25)]  # before text/html (30)

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[nodes.Element] | None:
        if inline or data.mime_type != VEGALITE_MIME:
            return None
        spec = data.content if isinstance(data.content, dict) else json.loads(data.content)
        text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        ident = f"{STATIC_EXPLORER}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"
        script = text.replace("</", "<\\/")
        markup = (f'<div class="{STATIC_EXPLORER}">'
                  f'<p class="{STATIC_EXPLORER}-note">{html.escape(spec.get("description", ""))}</p>'
                  f'<div id="{ident}"></div>'
                  f"<script>vegaEmbed(document.getElementById('{ident}'), {script}, "
                  "{actions: false, renderer: 'svg'});</script></div>")
        return [nodes.raw(text=markup, format="html", classes=["output", "text_html"])]


VEGA_SCRIPTS = ("offline/vega/vega.min.js", "offline/vega/vega-lite.min.js", "offline/vega/vega-embed.min.js")


def add_vega_where_needed(app: Sphinx, pagename: str, templatename: str,
                          context: dict, doctree: Any) -> None:
    """Give a page with a precomputed explorer the scripts that draw it (only that page)."""
    if STATIC_EXPLORER in (context.get("body") or ""):
        for script in VEGA_SCRIPTS:
            app.add_js_file(script, priority=200)


def add_static_folder(app: Sphinx) -> None:
    """Serve this extension's ``static/`` files from the book's ``_static``."""
    app.config.html_static_path.append(str(Path(__file__).parent / "static"))


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("html-page-context", serve_badge_locally)
    app.connect("html-page-context", add_vega_where_needed, priority=400)
    app.add_css_file("explorers.css")
    app.connect("builder-inited", add_static_folder)
    # deferred and after MathJax (added at priority 500), so MathJax 3 exists when it runs
    app.add_js_file("mathjax2-shim.js", defer="defer", priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
