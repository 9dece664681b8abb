#!/usr/bin/env bash
# Installs headless Chromium (Debian chromium) for the browser tests of the
# web pages. Idempotent and quick when it is already there.
set -euo pipefail

for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null; then
    exit 0
  fi
done

echo "setup-browser: installing chromium from Debian" >&2
SUDO=""; [[ "$(id -u)" != 0 ]] && SUDO="sudo"
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null
