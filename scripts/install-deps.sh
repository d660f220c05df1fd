#!/usr/bin/env bash
# Installs the Debian 12 packages hazardlab builds with, and only those that are missing.
# Does nothing (and needs no network or root) when everything is already there.
# Extra package names on the command line are installed the same way, only when missing
# (make plot: bash scripts/install-deps.sh gnuplot-nox).
set -euo pipefail

packages=(
  build-essential cmake g++          # the toolchain (C++20, CMake >= 3.25)
  ninja-build                        # the presets' generator
  libgtest-dev libgmock-dev          # GoogleTest
  libboost-dev                       # Boost.Interprocess (header-only)
  libspdlog-dev libfmt-dev           # logging and formatting
  libcli11-dev nlohmann-json3-dev    # options and JSON
  valgrind                           # Helgrind (make helgrind)
)
packages+=("$@")

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# apt's own output goes to a log, shown only if it fails: make run prints one line per step.
log=$(mktemp /tmp/hazardlab-install-deps.XXXXXX)
if ! { "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "install-deps: apt-get failed (its output is above)" >&2
  exit 1
fi
rm -f "$log"
