#!/usr/bin/env bash
# Installs everything ReferStream needs to build and test on Debian 12 / Ubuntu 22.04+ with a Swift
# toolchain already on PATH. Idempotent: packages already present are skipped, and the Python test
# environment (.venv, built on /usr/bin/python3 so it sees GStreamer's `gi`) is only created once.
#
#   scripts/install-deps.sh            system packages + the Python test environment
#   scripts/install-deps.sh --system   system packages only
#
# Runs as root directly, or through sudo otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${REFERSTREAM_VENV:-$here/.venv}"

apt_packages=(
  pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libopenblas-dev
  libzmq3-dev zlib1g-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp
  gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0 python3-venv
  systemd
  libcurl4-openssl-dev
)
# systemd: systemd-analyze, which the tests run on the units. libcurl4-openssl-dev: `make install` links
# the static Swift standard library, whose Foundation networking part needs -lcurl.
python_packages=(pyzmq pycocotools numpy safetensors prometheus-client)

say() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  die "not root and sudo is not available: run this script as root, or install sudo"
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script supports Debian and Ubuntu; install the packages listed in it by hand"

missing=()
for p in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq || die "apt-get update failed: check the network and /etc/apt/sources.list"
  if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    die "apt-get could not install: ${missing[*]} (see the apt output above)"
  fi
else
  say "system packages already installed"
fi

for pc in gstreamer-1.0 gstreamer-app-1.0 gstreamer-video-1.0 openblas libzmq; do
  pkg-config --exists "$pc" || die "pkg-config cannot find $pc after installation"
done

[ "${1:-}" = "--system" ] && exit 0

# The Python test clients (pyzmq, pycocotools, numpy, prometheus-client's text parser, GStreamer's gi
# for the RTSP server) live in a
# virtual environment on top of Debian's /usr/bin/python3, which is the interpreter that has `gi`.
if [ ! -x "$venv/bin/python" ]; then
  say "creating the Python test environment in $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv" || die "could not create $venv (is python3-venv installed?)"
fi
if ! "$venv/bin/python" -c 'import zmq, pycocotools.mask, numpy, safetensors, gi, prometheus_client' >/dev/null 2>&1; then
  say "installing ${python_packages[*]} into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${python_packages[@]}" \
    || die "pip could not install ${python_packages[*]} into $venv"
fi
"$venv/bin/python" -c 'import zmq, pycocotools.mask, numpy, safetensors, gi; gi.require_version("GstRtspServer", "1.0")' \
  || die "the Python test environment in $venv is incomplete"
say "ready"
