#!/bin/sh
# Installs Debian's chromium for wstack-cli's browser test when it is missing.
# `cargo xtask test` runs it before the tests when chromium is not on PATH.
set -eu
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
command -v chromium
