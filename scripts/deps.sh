#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need (as root). Skips apt entirely
# when everything is already installed.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config git
      liburing-dev libxxhash-dev libabsl-dev libdeflate-dev zlib1g-dev
      googletest libgtest-dev libgmock-dev libbenchmark-dev
      nlohmann-json3-dev rapidjson-dev libssl-dev
      clang clang-format clang-tidy libclang-rt-14-dev libfuzzer-14-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js and npm for the ali-ons suite (tests/npm): Debian's packages, only when there is no
# node at all (a node from elsewhere, which brings its own npm, is left alone).
if ! command -v node >/dev/null 2>&1; then
  echo "deps: installing nodejs npm"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
elif ! command -v npm >/dev/null 2>&1; then
  echo "deps: warning: node is installed without npm; the ali-ons suite (tests/npm) needs npm" >&2
fi
