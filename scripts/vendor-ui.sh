#!/usr/bin/env bash
# The web UI's third-party files, pinned: fetched from the npm registry with `npm pack`, source
# map comments dropped (the maps are not shipped), checked against the hashes below, and written
# to crates/god-web/assets/vendor/ (committed; the build embeds them, nothing is fetched at build
# or run time). Run it to check the committed files or after changing a version here.
#   @xterm/xterm 6.0.0 (MIT): the terminal of a running job's page, loaded only when opened.
#   @xterm/addon-fit 0.11.0 (MIT): fits it to its box.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=crates/god-web/assets/vendor
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
( cd "$TMP" && npm pack --silent @xterm/xterm@6.0.0 @xterm/addon-fit@0.11.0 >/dev/null )
mkdir -p "$TMP/xterm" "$TMP/fit" "$OUT"
tar xzf "$TMP/xterm-xterm-6.0.0.tgz" -C "$TMP/xterm" --strip-components=1
tar xzf "$TMP/xterm-addon-fit-0.11.0.tgz" -C "$TMP/fit" --strip-components=1
sed '/^\/\/# sourceMappingURL/d' "$TMP/xterm/lib/xterm.js" > "$OUT/xterm.js"
sed '/^\/\/# sourceMappingURL/d' "$TMP/fit/lib/addon-fit.js" > "$OUT/addon-fit.js"
cp "$TMP/xterm/css/xterm.css" "$OUT/xterm.css"
cp "$TMP/xterm/LICENSE" "$OUT/LICENSE.xterm"
( cd "$OUT" && sha256sum -c --quiet ) <<'SUMS'
b569f629d00f2626a8100df2a1798210535621e42164dfd426a6fe5aac7b0ccd  LICENSE.xterm
4df3789fa7bff5d545ba38462a8cd2f7460ba971021bce3f81c2870f937a201e  addon-fit.js
854a7c0fb70e8b1a083c16797ab827299fb18744f5ad34f227b48337e33293c6  xterm.css
98d0973151aff2991d335b1adbbdac2e14da26341abe329d677d4c0034402bdf  xterm.js
SUMS
echo "vendor-ui: $OUT matches the pinned versions"
