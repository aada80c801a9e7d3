#!/usr/bin/env bash
# ensure-packages.sh PKG... — installs the Debian/Ubuntu packages among PKG
# that are missing (apt-get, with sudo when not root). Prints nothing when all
# are present. On a system without dpkg it lists the packages and goes on:
# the build will say what is missing if they are truly absent.
set -euo pipefail
[ $# -gt 0 ] || exit 0
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "ensure-packages: not a Debian/Ubuntu system; make sure these (or your distribution's equivalents) are installed: $*" >&2
  exit 0
fi
missing=()
for p in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ensure-packages: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "ensure-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
