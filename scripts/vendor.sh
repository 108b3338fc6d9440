#!/usr/bin/env bash
# Front-end libraries, vendored into static/vendor/ at pinned versions from the npm registry
# (`make vendor`). Pages load them from this site only: nothing comes from a CDN at run time.
# Each tarball is checked against the registry's published sha512 before anything is copied.
# To upgrade: change a version here, run `make vendor`, review the diff, commit static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."

# package@version  file in the package  ->  file under static/vendor/
PACKAGES=(
  "htmx.org@2.0.11 dist/htmx.min.js htmx/htmx.min.js"
  "chart.js@4.6.2 dist/chart.umd.min.js chart.js/chart.umd.min.js"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for entry in "${PACKAGES[@]}"; do
  read -r spec source target <<<"$entry"
  name=${spec%@*}
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  tarball=$(ls "$work"/*.tgz)
  expected=$(npm view "$spec" dist.integrity)
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$expected" != "$actual" ]; then
    echo "vendor: $spec does not match the registry's integrity ($actual != $expected)" >&2
    exit 1
  fi
  mkdir -p "$work/unpacked" "static/vendor/$(dirname "$target")"
  tar -xzf "$tarball" -C "$work/unpacked"
  cp "$work/unpacked/package/$source" "static/vendor/$target"
  cp "$work/unpacked/package/LICENSE"* "static/vendor/$(dirname "$target")/LICENSE"
  echo "$spec $expected" >"static/vendor/$(dirname "$target")/VERSION"
  echo "vendored $spec -> static/vendor/$target"
  rm -rf "$work/unpacked" "$tarball"
done
