#!/usr/bin/env bash
# Install what samtale needs outside Python: LibreOffice (headless Writer + its Python UNO
# bridge) for conversions and poppler-utils (pdfsig, pdftotext) for checking PDFs.
set -euo pipefail
PACKAGES="libreoffice-writer-nogui libreoffice-calc-nogui python3-uno poppler-utils fonts-crosextra-carlito fonts-dejavu-core"

have_all() {
    command -v soffice >/dev/null 2>&1 &&
    [ -e /usr/lib/libreoffice/program/libsclo.so ] &&
    command -v pdfsig >/dev/null 2>&1 &&
    command -v pdftotext >/dev/null 2>&1 &&
    /usr/bin/python3 -c "import uno" >/dev/null 2>&1 &&
    fc-list 2>/dev/null | grep -qi carlito
}

if have_all; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "samtale needs LibreOffice and poppler. Ask an administrator to run:" >&2
    echo "    sudo apt-get install $PACKAGES" >&2
    echo "(or run 'make demo' / 'make test' once as root)." >&2
    exit 1
fi
echo "Installing $PACKAGES with apt-get (a few minutes the first time)…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
have_all || { echo "LibreOffice/poppler installation is incomplete" >&2; exit 1; }
