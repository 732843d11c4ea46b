#!/usr/bin/env bash
# Install what samtale needs outside Python: LibreOffice (headless Writer and Calc, with its
# Python UNO bridge) for conversions, poppler-utils (pdfsig, pdftotext) for checking PDFs, and
# the Carlito font (metric-compatible with Calibri, so forms keep their layout), and Chromium,
# which the tests use to look at the HR report as a person would (headless, offline).
# On Debian 12 (bookworm) LibreOffice comes from bookworm-backports (25.2, what people fill the
# forms in today) instead of bookworm's own 7.4; the backports source is added when missing.
set -euo pipefail
LIBREOFFICE="libreoffice-writer-nogui libreoffice-calc-nogui python3-uno"
OTHERS="poppler-utils fonts-crosextra-carlito fonts-dejavu-core chromium"
PACKAGES="$LIBREOFFICE $OTHERS"
BACKPORTS=bookworm-backports
BACKPORTS_LIST=/etc/apt/sources.list.d/bookworm-backports.sources
CURRENT_MAJOR=25  # the LibreOffice major version the set-up installs where it can

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

on_bookworm() {
    [ -r /etc/os-release ] && grep -qx 'VERSION_CODENAME=bookworm' /etc/os-release &&
    grep -qx 'ID=debian' /etc/os-release
}

libreoffice_major() {
    soffice --version 2>/dev/null | sed -n 's/^LibreOffice \([0-9][0-9]*\)\..*/\1/p' | head -n 1
}

have_current_libreoffice() {
    # Only Debian 12 gets LibreOffice from backports; elsewhere the system's own one is kept.
    ! on_bookworm || [ "$(libreoffice_major)" -ge "$CURRENT_MAJOR" ] 2>/dev/null
}

add_backports() {
    local sources=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list
                   /etc/apt/sources.list.d/*.sources)
    if grep -qsE "^[^#]*[[:space:]]$BACKPORTS([[:space:]]|\$)" "${sources[@]}"; then
        return 0  # already there (a .list line or a deb822 Suites line)
    fi
    echo "Adding Debian's $BACKPORTS to apt's sources ($BACKPORTS_LIST)…"
    cat >"$BACKPORTS_LIST" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
}

if have_required && have_fonts && have_browser && have_current_libreoffice; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    if have_required; then
        if ! have_current_libreoffice; then
            echo "Note: LibreOffice $(libreoffice_major) is installed; samtale is tested against" >&2
            echo "      LibreOffice $CURRENT_MAJOR from $BACKPORTS. To upgrade it:" >&2
            echo "      sudo bash tools/install_system_deps.sh" >&2
        fi
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
    if on_bookworm; then
        echo "    sudo bash tools/install_system_deps.sh" >&2
    else
        echo "    sudo apt-get install $PACKAGES" >&2
    fi
    echo "(or run 'make demo' / 'make test' once as root)." >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if on_bookworm; then
    add_backports
    echo "Installing $OTHERS, and $LIBREOFFICE from $BACKPORTS, with apt-get" \
        "(a few minutes the first time)…"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $OTHERS >/dev/null
    apt-get install -y -qq --no-install-recommends -t "$BACKPORTS" $LIBREOFFICE >/dev/null
else
    echo "Installing $PACKAGES with apt-get (a few minutes the first time)…"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
fi
have_required || { echo "LibreOffice/poppler installation is incomplete" >&2; exit 1; }
have_browser || { echo "Chromium installation is incomplete" >&2; exit 1; }
have_current_libreoffice || {
    echo "LibreOffice is still $(libreoffice_major), not $CURRENT_MAJOR from $BACKPORTS" >&2
    exit 1
}
echo "$(soffice --version | head -n 1) is installed."
