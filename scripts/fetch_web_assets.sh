#!/usr/bin/env bash
# Fetches the plotting library the HTML reports inline (Vega, Vega-Lite, vega-embed: the
# minified builds and their BSD-3-Clause licenses) into DEST, once: later runs reuse it. Only
# through `npm pack`, so the npm client's own configuration decides where from; each package
# is pinned by the sha256 of its tarball.
#   scripts/fetch_web_assets.sh DEST
set -euo pipefail
dest=$1
mkdir -p "$dest"
fetch() {  # package version sha256 file-in-package
  local package=$1 version=$2 sha=$3 file=$4
  [ -s "$dest/$(basename "$file")" ] && [ -s "$dest/LICENSE-$package" ] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch_web_assets: npm is not installed (bash scripts/setup.sh --deps-only installs it)" >&2
    return 1
  fi
  local tmp
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && npm pack --silent "$package@$version" >"$tmp/npm.log" 2>&1); then
    echo "fetch_web_assets: npm pack $package@$version failed (registry: $(npm config get registry)):" >&2
    cat "$tmp/npm.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  local tgz="$tmp/$package-$version.tgz" got
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "fetch_web_assets: $package@$version has sha256 $got, expected $sha" >&2
    rm -rf "$tmp"
    return 1
  fi
  tar -xzf "$tgz" -C "$tmp" "package/$file" package/package.json
  tar -xzf "$tgz" -C "$tmp" package/LICENSE 2>/dev/null || true
  mv "$tmp/package/$file" "$dest/"
  if [ -s "$tmp/package/LICENSE" ]; then
    mv "$tmp/package/LICENSE" "$dest/LICENSE-$package"
  else
    # The vega tarball ships no LICENSE file; its package.json names the license.
    { echo "$package@$version: \"license\" in its package.json:"
      grep -m1 '"license"' "$tmp/package/package.json"
      echo "(the BSD-3-Clause text of the same project is in LICENSE-vega-lite)"
    } >"$dest/LICENSE-$package"
  fi
  rm -rf "$tmp"
}
fetch vega 5.33.1 1b8504b6731c5311be3269c4d84ca996a5cc293bc772283293ede20c490e16c3 build/vega.min.js
fetch vega-lite 5.23.0 e4cbfdd8f6f1abe381c59cd558fd6a559c12b1496bfdf2e0c3295263a40fe4da build/vega-lite.min.js
fetch vega-embed 6.29.0 ecf1ee709c2bac9e0a4ead6908114b05b62c71493e10a8a4308109bb070f8eb1 build/vega-embed.min.js
echo "fetch_web_assets: Vega, Vega-Lite and vega-embed ready in $dest"
