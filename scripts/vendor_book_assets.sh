#!/usr/bin/env bash
# Refill book/_assets/ from the npm registry (npm pack; no node_modules, no install scripts).
# The files are committed, so a build needs neither npm nor internet; rerun this only
# to change a version. Files land flat in _build/html/_static/ (html_static_path).
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREJS=requirejs@2.3.7
HTML_MANAGER=@jupyter-widgets/html-manager@1.0.6   # the version myst-nb 1.x loads from its CDN
MATHJAX=mathjax@3.2.2

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
out=book/_assets
mkdir -p "$out/mathjax" "$out/licenses"
for spec in "$REQUIREJS" "$HTML_MANAGER" "$MATHJAX"; do
  name=$(cd "$tmp" && npm pack --silent "$spec" | tail -1)
  mkdir -p "$tmp/${name%.tgz}" && tar xzf "$tmp/$name" -C "$tmp/${name%.tgz}"
done
cp "$tmp"/requirejs-*/package/require.js "$out/require.js"
cp "$tmp"/jupyter-widgets-html-manager-*/package/dist/embed-amd.js "$out/embed-amd.js"
# tex-svg-full.js: one file, all TeX packages built in, SVG output needs no font files.
cp "$tmp"/mathjax-*/package/es5/tex-svg-full.js "$out/mathjax/tex-svg-full.js"
cp "$tmp"/jupyter-widgets-html-manager-*/package/LICENSE "$out/licenses/html-manager-LICENSE.txt"
cp "$tmp"/mathjax-*/package/LICENSE "$out/licenses/mathjax-LICENSE.txt"
# requirejs ships no LICENSE file: its license (MIT) is stated in the header of require.js.
sed -n '1,10p' "$out/require.js" | grep -i -E 'license|copyright' > "$out/licenses/requirejs-LICENSE.txt"
cat > "$out/VENDORED.txt" <<TXT
Vendored from the npm registry by scripts/vendor_book_assets.sh (npm pack):
  require.js                 $REQUIREJS  (package/require.js)
  embed-amd.js               $HTML_MANAGER  (package/dist/embed-amd.js)
  mathjax/tex-svg-full.js    $MATHJAX  (package/es5/tex-svg-full.js)
Wired in _config.yml: html_static_path, nb_ipywidgets_js, mathjax_path.
TXT
ls -la "$out" "$out/mathjax" "$out/licenses"
