#!/usr/bin/env bash
# Installs the Debian 12 packages tern needs, only those that are missing.
# Used by `make check`; safe to run again (does nothing when all are present).
set -euo pipefail

PKGS=(
  # build
  cmake make gcc clang pkg-config
  # clang's runtime: libFuzzer and the sanitizers
  libclang-rt-14-dev
  # crypto and TLS 1.3 (GnuTLS QUIC hooks; OpenSSL libcrypto as second backend)
  libgnutls28-dev libssl-dev
  # unit-test framework
  libcmocka-dev
  # HTTP/3 + QPACK
  libnghttp3-dev
  # interop peers and relay for the loopback tests
  ngtcp2-server ngtcp2-client coturn
  # tools used by tests
  iproute2 coreutils python3 openssl
  # NAT and RTT in the network-namespace tests (tests/netns/)
  nftables iputils-ping
  # make evidence: analysis and plots (evidence/, tools/tern-plot)
  python3-matplotlib python3-numpy python3-sklearn
  # browser test (tests/browser/chromium.sh, ctest -L browser)
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# coturn starts a system service on install on some setups; tern runs its own
# instance, so keep the packaged one from starting.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
