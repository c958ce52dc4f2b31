#!/usr/bin/env bash
# Installs what building and testing hsm-audit-forwarder needs on Debian/Ubuntu: the compiler
# toolchain, the -dev packages, clang for the fuzzers, and the AWS test tools (moto, AWS CLI).
# Safe to run again: it installs only what is missing.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libjansson-dev libyaml-dev
      libcmocka-dev libssl-dev clang clang-format libclang-rt-dev curl python3 procps
      groff-base man-db systemd dpkg-dev file rpm lintian debootstrap iproute2 libcap2-bin
      util-linux)
pkgs+=(zlib1g-dev)
# jq: the report and moto tests read JSON documents with it.
pkgs+=(jq)
pkgs+=(faketime) # reliability_wallclock, daemon_clock_step: the wall clock stepped
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# moto_server (the CloudWatch Logs, IAM and STS endpoint of the integration tests), boto3 and the
# AWS CLI. The python3 first on PATH is used; pip where it works, Debian's packages otherwise.
if ! python3 -c 'import moto.server, boto3' 2>/dev/null; then
    echo "install-deps: installing moto[server] and boto3"
    python3 -m pip install -q 'moto[server]>=5' boto3 awscli 2>/dev/null ||
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-moto python3-flask \
            python3-flask-cors python3-boto3 awscli >/dev/null
fi
if ! command -v aws >/dev/null 2>&1; then
    python3 -m pip install -q awscli 2>/dev/null ||
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq awscli >/dev/null
fi

# chromium (headless) for the HTML report test (tests/integration/report_html_chromium.sh); the
# test is skipped, saying so, where it cannot be installed. fonts-dejavu-core gives it a font.
if ! command -v chromium >/dev/null 2>&1; then
    echo "install-deps: installing chromium"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends chromium fonts-dejavu-core >/dev/null ||
        echo "install-deps: chromium could not be installed: the HTML report test will be skipped"
fi

# Debian's python3-cryptography (for /usr/bin/python3): the independent signature checker of the
# digest tests (tests/tools/check_digests.py).
if ! dpkg-query -W -f='${Status}' python3-cryptography 2>/dev/null | grep -q "install ok installed"; then
    echo "install-deps: installing python3-cryptography"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        python3-cryptography >/dev/null
fi
