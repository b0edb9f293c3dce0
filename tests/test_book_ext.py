"""The book's Vega-Lite renderer reaches myst-nb through myst-nb's own entry point group."""
from __future__ import annotations

import json

from myst_nb.core.render import MimeData, load_mime_renders


def test_myst_nb_finds_the_vegalite_renderer_by_its_entry_point():
    renderers = load_mime_renders()
    names = [f"{r.__module__}.{r.__qualname__}" for r in renderers]
    assert "book_fixes.VegaLiteOutput" in names, names
    renderer = next(r for r in renderers if r.__qualname__ == "VegaLiteOutput")
    spec = {"description": "A <chart>", "mark": "line"}
    data = MimeData("application/vnd.vegalite.v5+json", json.dumps(spec), output_metadata={})
    (node,) = renderer.handle_mime(None, data, inline=False)
    assert "vegaEmbed(" in node.astext() and "A &lt;chart&gt;" in node.astext()
    other = MimeData("text/plain", "x", output_metadata={})
    assert renderer.handle_mime(None, other, inline=False) is None
