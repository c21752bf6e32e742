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
