#!/usr/bin/env bash
# Install, from Debian's packages and PyPI, what the tests need on a fresh Debian 12 machine:
# the Docker Engine (docker.io), the pieces the test images are built from, and a Python venv
# with the original Go-Docker client (godocker-cli 1.0.25) used unchanged by the tests.
# Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# libpam0g-dev + libclang-dev: PAM for the `system` auth policy (bindings generated at build);
# slapd ldap-utils openssl: the throwaway LDAP directory of the LDAP tests (scripts/start-slapd.sh);
# iproute2 util-linux: network namespaces and nsenter/unshare of the test Swarm (start-swarm.sh);
# chromium chromium-driver: the browser tests of the web UI (crates/god/tests/web_ui.rs), the
# driver always of the browser's own version.
PKGS=(docker.io busybox-static bash-static debootstrap iptables python3-venv curl musl-tools
      libpam0g-dev libclang-dev slapd ldap-utils openssl iproute2 util-linux
      chromium chromium-driver)
missing=()
for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VENV=${GOD_PYCLIENT_VENV:-$PWD/target/pyclient}
if [ ! -x "$VENV/bin/godjob" ]; then
    echo "install-deps: venv with godocker-cli 1.0.25 in $VENV"
    python3 -m venv "$VENV"
    # click 8 rejects the client's `multiple=True, default=""` options: use the click of its time.
    "$VENV/bin/pip" install -q 'godocker-cli==1.0.25' 'click<8'
fi
# Galaxy's GoDocker job runner (galaxy/jobs/runners/godocker.py), run unchanged by the tests with
# the rest of Galaxy stood in for (crates/god/tests/galaxy/runner_harness.py): the package only,
# not its dependencies.
GALAXY_APP=26.1.2
if [ ! -f "$VENV/lib/python3"*/site-packages/galaxy/jobs/runners/godocker.py ] 2>/dev/null; then
    echo "install-deps: Galaxy's job runners (galaxy-app $GALAXY_APP, no dependencies) in $VENV"
    "$VENV/bin/pip" install -q --no-deps "galaxy-app==$GALAXY_APP"
fi

# The OpenID Connect provider of the guest tests (scripts/oidc-provider: oidc-provider from npm,
# pinned by its package-lock.json). Node.js and npm come with the machine; else Debian's.
if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: apt-get install nodejs npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -d scripts/oidc-provider/node_modules/oidc-provider ]; then
    echo "install-deps: npm ci in scripts/oidc-provider"
    npm ci --prefix scripts/oidc-provider --no-audit --no-fund --loglevel=error
fi
