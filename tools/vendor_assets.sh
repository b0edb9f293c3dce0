#!/usr/bin/env bash
# Install the book's front-end files from the npm registry (versions pinned in
# tools/web/package-lock.json) and copy them into _vendor/_static/offline/, so the built book
# serves MathJax, RequireJS, the ipywidgets HTML manager and Vega (for the precomputed explorers)
# itself and works offline.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nodejs npm
fi
stamp=tools/web/node_modules/.installed
if [ ! -f "$stamp" ] || [ tools/web/package-lock.json -nt "$stamp" ]; then
    (cd tools/web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
    touch "$stamp"
fi
modules=tools/web/node_modules
vendor=_vendor/_static/offline  # html_extra_path copies _vendor/ into the book's root
rm -rf _vendor
mkdir -p "$vendor/html-manager"
cp -r "$modules/mathjax/es5" "$vendor/mathjax"
cp "$modules/requirejs/require.js" "$vendor/require.js"
mkdir -p "$vendor/vega"
cp "$modules/vega/build/vega.min.js" "$modules/vega-lite/build/vega-lite.min.js" \
   "$modules/vega-embed/build/vega-embed.min.js" "$vendor/vega/"
find "$modules/@jupyter-widgets/html-manager/dist" -maxdepth 1 -type f \
    \( -name 'embed-amd.js' -o -name '*.woff' -o -name '*.woff2' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) \
    -exec cp {} "$vendor/html-manager/" \;
# The HTML manager's bundled CSS asks for its Font Awesome files relative to the page itself,
# under @jupyter-widgets/ and @jupyter-widgets/html-manager/dist/. Every page with saved widgets
# lives in chapters/, so the fonts go there too (html_extra_path merges them into the book).
for fonts in _vendor/chapters/@jupyter-widgets _vendor/chapters/@jupyter-widgets/html-manager/dist; do
    mkdir -p "$fonts"
    find "$vendor/html-manager" -maxdepth 1 -type f ! -name '*.js' -exec cp {} "$fonts/" \;
done
echo "vendored: $(du -sh "$vendor" | cut -f1) in $vendor"
