#!/usr/bin/env bash
# Make headless Chromium available for the browser check, the way CI does: Debian's `chromium`
# package through apt-get (as root, or with password-less sudo). Exit 0 when a browser is there
# afterwards; otherwise exit 1 with one line saying why and how to enable or skip the check.
#   CHROMIUM=/path/to/browser  use that binary (nothing is installed)
set -uo pipefail
found() {
  if [[ -n "${CHROMIUM:-}" ]]; then command -v "$CHROMIUM" >/dev/null 2>&1 && return 0; return 1; fi
  [[ -x /usr/bin/chromium ]] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || command -v google-chrome >/dev/null 2>&1
}
if found; then echo "chromium present"; exit 0; fi
if [[ -n "${CHROMIUM:-}" ]]; then
  echo "ERROR: CHROMIUM=$CHROMIUM is not an executable browser; fix it, or skip the browser check with BROWSER_CHECK=0" >&2
  exit 1
fi
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo -n"
log=${TMPDIR:-/tmp}/gainakt_apt_chromium.log
echo "chromium not found: installing Debian's chromium (apt-get; log $log)"
if command -v apt-get >/dev/null 2>&1 \
   && $sudo apt-get update -q >"$log" 2>&1 \
   && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >>"$log" 2>&1 && found; then
  echo "installed $(/usr/bin/chromium --version 2>/dev/null | head -1)"
  exit 0
fi
echo "ERROR: the browser check cannot run: Chromium is not installed and 'apt-get install -y chromium' failed" \
     "(log: $log). Install it (sudo apt-get install chromium, or set CHROMIUM=/path/to/chromium)," \
     "or skip this check explicitly with BROWSER_CHECK=0." >&2
exit 1
