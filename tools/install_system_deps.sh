#!/usr/bin/env bash
# Install what samtale needs outside Python: LibreOffice (headless Writer and Calc, with its
# Python UNO bridge) for conversions, poppler-utils (pdfsig, pdftotext) for checking PDFs, and
# the Carlito font (metric-compatible with Calibri, so forms keep their layout), and Chromium,
# which the tests use to look at the HR report as a person would (headless, offline).
set -euo pipefail
PACKAGES="libreoffice-writer-nogui libreoffice-calc-nogui python3-uno poppler-utils fonts-crosextra-carlito fonts-dejavu-core chromium"

have_required() {
    command -v soffice >/dev/null 2>&1 &&
    [ -e /usr/lib/libreoffice/program/libsclo.so ] &&
    command -v pdfsig >/dev/null 2>&1 &&
    command -v pdftotext >/dev/null 2>&1 &&
    /usr/bin/python3 -c "import uno" >/dev/null 2>&1
}

have_fonts() {
    fc-list 2>/dev/null | grep -qi carlito
}

have_browser() {
    command -v chromium >/dev/null 2>&1
}

if have_required && have_fonts && have_browser; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    if have_required; then
        if ! have_fonts; then
            echo "Note: the Carlito font is missing; forms may look slightly different in PDFs." >&2
            echo "      sudo apt-get install fonts-crosextra-carlito" >&2
        fi
        if ! have_browser; then
            echo "Note: Chromium is missing; 'make test' needs it to check the HR report." >&2
            echo "      sudo apt-get install chromium" >&2
        fi
        exit 0
    fi
    echo "samtale needs LibreOffice and poppler. Ask an administrator to run:" >&2
    echo "    sudo apt-get install $PACKAGES" >&2
    echo "(or run 'make demo' / 'make test' once as root)." >&2
    exit 1
fi
echo "Installing $PACKAGES with apt-get (a few minutes the first time)…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
have_required || { echo "LibreOffice/poppler installation is incomplete" >&2; exit 1; }
have_browser || { echo "Chromium installation is incomplete" >&2; exit 1; }
