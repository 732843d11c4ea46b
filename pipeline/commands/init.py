"""``samtale init``: make a new workspace with the shipped templates, a config and a guide."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.domain.kinds import DEFAULT_LANGUAGE, LANGUAGES
from pipeline.errors import WorkspaceError
from pipeline.formats.shipped import STAMP_NAME, shipped_files, shipped_stamp
from pipeline.state.config_text import config_text
from pipeline.state.files import ensure_private_dir, write_private
from pipeline.state.workspace import CONFIG_NAME, Workspace

GUIDE_NAMES = {"nb": "LESMEG.txt", "en": "README.txt"}
FOLDERS = ("input", "output", "templates")
SHOWN_ENTRIES = 5  # how many entries of a non-empty folder the error names

GUIDE_NB = """\
samtale: arbeidsmappe for medarbeidersamtalen{organisation}

Kjør samtale fra denne mappen (cd {root}), eller skriv
samtale --workspace {root} KOMMANDO. Mappen inneholder personopplysninger:
hold den på en kryptert disk, aldri i en delt mappe eller i git.

Mappene
  input/         Ansattlisten: input/roster.xlsx (eksport fra HR-systemet).
                 Svarene som kommer tilbake: input/returned/<år>/.
  templates/     Word-malene og e-posttekstene (templates/email/). Du kan
                 redigere dem i Word; kjør samtale check etterpå.
  output/        Alt samtale lager: skjemaer, e-postutkast, svar, arkiv.
  samtale.toml   Innstillingene: organisasjon, avsender, frist, segl.
  .samtale/      Lages av samtale generate: nøkkelen som kjenner igjen skjemaene.

Januar, steg for steg (syklusen er inneværende år; --cycle ÅR velger et annet)
  1. Legg ansattlisten i input/roster.xlsx, og kjør     samtale check
  2. Fyll inn [organisation] og [mail] i samtale.toml (avsender, svaradresse,
     frist, HR-kontakt), og [seal] certificate før du forsegler (steg 8).
  3. Lag skjemaene                                      samtale generate
     Med fjorårets avtaler:  samtale generate --previous output/<fjor>/answers.xlsx
  4. Lag e-postene (utkast i output/<år>/outbox/)       samtale send
  5. Lagre svarene i input/returned/<år>/ og kjør       samtale collect
  6. Se hvem som mangler                                samtale status
     Påminnelse til dem:                                samtale send --kind reminder
  7. Etter samtalene: referatskjemaene                  samtale minutes
     og send dem                                        samtale send --kind minutes
  8. Samle inn de bekreftede referatene (samtale collect), forsegl og arkiver
                                                        samtale finalize
  9. Kontroller arkivet                                 samtale verify

Sikkerhetskopi
  Ta jevnlig kopi av .samtale/ (nøkkelen: uten den kjennes ingen utsendte
  skjemaer igjen) og output/ (svarene og arkivet), til en kryptert disk.

Hjelp: samtale --help og samtale KOMMANDO --help
"""

GUIDE_EN = """\
samtale: workspace for the employee review{organisation}

Run samtale from this folder (cd {root}), or type
samtale --workspace {root} COMMAND. This folder holds personal data: keep
it on an encrypted disk, never in a shared folder or in git.

The folders
  input/         The roster: input/roster.xlsx (exported from the HR system).
                 Forms that come back: input/returned/<year>/.
  templates/     The Word templates and the email texts (templates/email/).
                 Edit them in Word if you like; run samtale check afterwards.
  output/        Everything samtale makes: forms, email drafts, answers, archive.
  samtale.toml   The settings: organisation, sender, deadline, seal.
  .samtale/      Made by samtale generate: the key that recognises the forms.

January, step by step (the cycle is the current year; --cycle YEAR picks another)
  1. Put the roster in input/roster.xlsx, then run      samtale check
  2. Fill in [organisation] and [mail] in samtale.toml (sender, reply-to,
     deadline, HR contact), and [seal] certificate before sealing (step 8).
  3. Write the forms                                    samtale generate
     With last year's agreements:  samtale generate --previous output/<last>/answers.xlsx
  4. Write the emails (drafts in output/<year>/outbox/) samtale send
  5. Save the replies in input/returned/<year>/, run    samtale collect
  6. See who is missing                                 samtale status
     A reminder to them:                                samtale send --kind reminder
  7. After the talks: the minutes forms                 samtale minutes
     and send them                                      samtale send --kind minutes
  8. Collect the confirmed minutes (samtale collect), then seal and archive
                                                        samtale finalize
  9. Check the archive                                  samtale verify

Backups
  Copy .samtale/ (the key: without it no form handed out can be recognised)
  and output/ (the answers and the archive) regularly to an encrypted disk.

Help: samtale --help and samtale COMMAND --help
"""

GUIDES = {"nb": GUIDE_NB, "en": GUIDE_EN}


@dataclass(frozen=True)
class InitReport:
    """What init made: the workspace, the files written and the existing ones kept."""

    workspace: Workspace
    language: str
    guide: Path
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def init_workspace(
    root: Path,
    *,
    language: str = DEFAULT_LANGUAGE,
    organisation: str | None = None,
    allow_nonempty: bool = False,
) -> InitReport:
    """Return what was made after creating a workspace in ``root``; never overwrites a file."""
    if language not in LANGUAGES:
        raise WorkspaceError(f"language {language!r} is not known; use one of {LANGUAGES}")
    root = Path(root).absolute()
    if not existing_entries(root, allow_nonempty):
        ensure_private_dir(root)  # a folder already in use keeps its permissions: it may be $HOME
    workspace = Workspace.at(root)
    for name in FOLDERS:
        ensure_private_dir(root / name)
    files = planned_files(workspace, language, organisation)
    written, kept = [], []
    for path, data in files.items():
        if path.exists():
            kept.append(path)
        else:
            written.append(write_private(path, data))
    # The stamp says which release the templates came from: only true when init wrote them all.
    stamp = workspace.templates_dir / STAMP_NAME
    if stamp.exists():
        kept.append(stamp)
    elif not any(p.parent.is_relative_to(stamp.parent) for p in kept):
        written.append(write_private(stamp, shipped_stamp().text()))
    return InitReport(workspace, language, root / GUIDE_NAMES[language], written, kept)


def existing_entries(root: Path, allow_nonempty: bool) -> list[str]:
    """Return what ``root`` holds; raise WorkspaceError for a file or an unwanted full folder."""
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} is a file; give init the path of a new or empty folder")
    entries = sorted(os.listdir(root)) if root.is_dir() else []
    if entries and not allow_nonempty:
        shown = ", ".join(entries[:SHOWN_ENTRIES]) + (", …" if len(entries) > SHOWN_ENTRIES else "")
        raise WorkspaceError(
            f"{root} is not empty ({shown}). Choose a new or empty folder, or pass "
            "--allow-nonempty to add only what is missing (no file is overwritten)"
        )
    return entries


def planned_files(
    workspace: Workspace, language: str, organisation: str | None
) -> dict[Path, bytes]:
    """Return every file init writes, path -> bytes: templates, config and guide."""
    files = {workspace.templates_dir / f.name: f.data for f in shipped_files()}
    settings = {("organisation", "name"): organisation} if organisation else {}
    files[workspace.root / CONFIG_NAME] = config_text(settings).encode("utf-8")
    files[workspace.root / GUIDE_NAMES[language]] = guide_text(
        workspace.root, language, organisation
    )
    return files


def guide_text(root: Path, language: str, organisation: str | None) -> bytes:
    """Return the first-run guide in ``language``: folders, January steps, backups."""
    named = f" ({organisation})" if organisation else ""
    return GUIDES[language].format(root=quoted(root), organisation=named).encode("utf-8")


def quoted(path: Path) -> str:
    """Return ``path`` as typed in a shell: in double quotes when it holds spaces."""
    text = str(path)
    return f'"{text}"' if any(c.isspace() for c in text) else text
