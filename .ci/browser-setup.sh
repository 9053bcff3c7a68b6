#!/usr/bin/env bash
# Headless Chromium and its WebDriver for tests/test_browser.py (Debian packages: chromium, chromium-driver).
# Never fails CI: without apt (or without root, or offline) the browser tests skip and say why.
set -u
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    echo "browser-setup: chromium and chromedriver already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser-setup: apt-get not available; the browser tests will be skipped"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "browser-setup: not root and no sudo; the browser tests will be skipped"
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get update -qq >/dev/null 2>&1 \
   && $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null 2>&1; then
    echo "browser-setup: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
else
    echo "browser-setup: could not install chromium and chromium-driver; the browser tests will be skipped"
fi
exit 0
