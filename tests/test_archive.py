"""The archive: layout, the append-only manifest, and ``verify`` catching every kind of tampering.

The PDFs here are tiny hand-made ones sealed with a demo certificate, so no LibreOffice is
needed; tests/test_finalize.py checks the same on PDFs that finalize made.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pypdf import PdfWriter

from pipeline.commands.verify import NOT_CONFIGURED, configured_certificate_sha256, verify_archive
from pipeline.errors import ArchiveError, SealError, VerifyError
from pipeline.formats.certificate import (
    certificate_sha256,
    public_certificate_path,
    write_public_certificate,
)
from pipeline.formats.seal import PdfInfo, load_seal, prepare_pdf, seal_pdf
from pipeline.state.archive import FOLLOWUPS, MINUTES, Archive, archived_name
from pipeline.state.workspace import Workspace
from testkit.certificates import create_demo_certificate

from .conftest import pdf_of_objects

CYCLE = 2027
PASSWORD = "Arkivnøkkel-Ørsta 2027"
SOURCE = "5e" * 32
INFO = PdfInfo("Referat – Bjørg Ødegård-Lien", "Fjordlys Energi AS", "Endelig referat", ["2027"])
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//samtale//test//NO\r\nEND:VCALENDAR\r\n"


def minutes_pdf(marker: str) -> bytes:
    """Return a one-page PDF whose content stream shows ``marker`` (ASCII)."""
    content = b"BT /F1 12 Tf 72 700 Td (" + marker.encode("ascii") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_of_objects(objects)


def sealed(seal, marker: str = "Referat 2027 for Bjorg") -> bytes:
    return seal_pdf(prepare_pdf(minutes_pdf(marker), INFO, []), seal, reason="Endelig referat")


def pdfsig(path: Path) -> str:
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def seals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seals")
    ours = create_demo_certificate(folder / "segl.p12", PASSWORD, "Fjordlys Energi AS")
    theirs = create_demo_certificate(folder / "annet.p12", "annet", "Annen etat")
    return {"ours": load_seal(ours, PASSWORD), "theirs": load_seal(theirs, "annet"), "p12": ours}


@pytest.fixture(scope="module")
def pdfs(seals):
    return {n: sealed(seals["ours"], f"Referat versjon {n}") for n in (1, 2)}


@pytest.fixture
def filled(tmp_path, seals, pdfs):
    """Return a workspace whose 2027 archive holds v1 and v2 of one employee, and follow-ups."""
    workspace = Workspace.at(tmp_path / "ws")
    archive = Archive.of(workspace, CYCLE)
    folder = archive.employee_folder("201", "Bjørg Ødegård-Lien")
    for version in (1, 2):
        archive.add(
            f"{folder}/{archived_name(MINUTES, CYCLE, version)}",
            pdfs[version],
            employee_id="201",
            kind=MINUTES,
            version=version,
            source_sha256=SOURCE,
            certificate_sha256=seals["ours"].certificate_sha256,
            sealed_at="2027-02-10T09:00:00+00:00",
        )
    archive.add(
        f"{folder}/{archived_name(FOLLOWUPS, CYCLE, 1)}",
        ICS,
        employee_id="201",
        kind=FOLLOWUPS,
        version=1,
        source_sha256=SOURCE,
    )
    return workspace, archive


def by_name(results) -> dict[str, object]:
    return {result.path.name: result for result in results}


def der_of(seal) -> bytes:
    return seal.signer.signing_cert.dump()


def pem_of(seal) -> bytes:
    return x509.load_der_x509_certificate(der_of(seal)).public_bytes(serialization.Encoding.PEM)


def forge_v1(archive: Archive, seals) -> Path:
    """Replace v1 by a PDF sealed with another certificate, the manifest edited to match."""
    path = archive.folder / "201_Bjørg_Ødegård-Lien" / "referat_2027_v1.pdf"
    forged = sealed(seals["theirs"], "Referat versjon 1")
    path.write_bytes(forged)
    forged_sha = hashlib.sha256(forged).hexdigest()
    theirs = seals["theirs"].certificate_sha256
    rewrite_manifest(
        archive,
        lambda e: (
            {**e, "sha256": forged_sha, "certificate_sha256": theirs}
            if e["path"].endswith("v1.pdf")
            else e
        ),
    )
    return path


def rewrite_manifest(archive: Archive, change) -> None:
    lines = [json.loads(line) for line in archive.manifest_path.read_text().splitlines()]
    archive.manifest_path.write_text(
        "".join(json.dumps(change(line)) + "\n" for line in lines), encoding="utf-8"
    )


# --- layout and manifest -------------------------------------------------------------------------


def test_layout_one_folder_per_employee_with_versioned_names(filled):
    _, archive = filled
    folder = archive.folder / "201_Bjørg_Ødegård-Lien"
    assert sorted(p.name for p in folder.iterdir()) == [
        "followups_2027_v1.ics",
        "referat_2027_v1.pdf",
        "referat_2027_v2.pdf",
    ]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    # a later roster spelling of the name keeps the folder already used
    assert archive.employee_folder("201", "Bjørg Lien") == "201_Bjørg_Ødegård-Lien"
    assert archive.employee_folder("202", "Ola: Nordmann/Ås") == "202_Ola_Nordmann_Ås"
    assert archive.next_version("201", "201_Bjørg_Ødegård-Lien") == 3


def test_next_version_skips_a_file_left_outside_the_manifest(filled):
    _, archive = filled
    orphan = archive.folder / "201_Bjørg_Ødegård-Lien" / "referat_2027_v7.pdf"
    orphan.write_bytes(b"%PDF-1.7 left by a crash before the manifest line")
    assert archive.next_version("201", "201_Bjørg_Ødegård-Lien") == 8


def test_lookups_see_what_another_run_appended_and_a_rewritten_manifest(filled):
    _, archive = filled
    assert archive.latest("202", MINUTES) is None  # indexed now
    other = Archive(archive.folder)  # another finalize run, appending meanwhile
    with other.lock():
        other.add(
            "202_Ola_Nordmann/referat_2027_v1.pdf",
            b"%PDF-1.7 ola",
            employee_id="202",
            kind=MINUTES,
            version=1,
            source_sha256="c" * 64,
        )
    assert archive.entry_for("202", MINUTES, "c" * 64).path.endswith("v1.pdf")
    assert archive.next_version("202", "202_Ola_Nordmann") == 2
    rewrite_manifest(  # edited in place: same file, other lines
        archive, lambda e: {**e, "source_sha256": "d" * 64} if e["employee_id"] == "202" else e
    )
    assert archive.entry_for("202", MINUTES, "c" * 64) is None
    assert archive.entry_for("202", MINUTES, "d" * 64) is not None
    assert len(archive.entries()) == len(Archive(archive.folder).entries())


def test_archived_files_are_never_overwritten(filled, pdfs):
    _, archive = filled
    path = archive.folder / "201_Bjørg_Ødegård-Lien" / "referat_2027_v1.pdf"
    manifest = archive.manifest_path.read_bytes()
    with pytest.raises(ArchiveError, match="never overwritten"):
        archive.add(
            "201_Bjørg_Ødegård-Lien/referat_2027_v1.pdf",
            pdfs[2],
            employee_id="201",
            kind=MINUTES,
            version=1,
            source_sha256=SOURCE,
        )
    assert path.read_bytes() == pdfs[1]
    assert archive.manifest_path.read_bytes() == manifest


def test_manifest_is_append_only_json_lines_with_every_hash(filled, pdfs, seals):
    _, archive = filled
    lines = archive.manifest_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and stat.S_IMODE(archive.manifest_path.stat().st_mode) == 0o600
    first = json.loads(lines[0])
    assert first["path"] == "201_Bjørg_Ødegård-Lien/referat_2027_v1.pdf"
    assert first["sha256"] == hashlib.sha256(pdfs[1]).hexdigest()
    assert (first["employee_id"], first["kind"], first["version"]) == ("201", "minutes", 1)
    assert first["source_sha256"] == SOURCE
    assert first["certificate_sha256"] == seals["ours"].certificate_sha256
    assert first["sealed_at"] and first["archived_at"]
    assert archive.entry_for("201", MINUTES, SOURCE).version == 2
    assert archive.entry_for("201", MINUTES, "0" * 64) is None
    assert archive.latest("201", FOLLOWUPS).path.endswith(".ics")
    assert Archive(archive.folder).entries() == archive.entries()  # a fresh reader agrees


def test_paths_outside_the_archive_are_refused(filled):
    _, archive = filled
    for sneaky in ("../../etc/passwd", "/etc/passwd", "."):
        with pytest.raises(ArchiveError, match="outside the archive"):
            archive.add(sneaky, b"x", employee_id="1", kind=MINUTES, version=1, source_sha256="")


# --- verify: the good case ---------------------------------------------------------------------


def test_intact_archive_verifies(filled, seals):
    workspace, archive = filled
    expected = seals["ours"].certificate_sha256
    for results in (
        verify_archive(workspace, CYCLE, expected_certificate_sha256=expected),
        verify_archive(workspace, CYCLE),  # no configured certificate: the manifest's
        verify_archive(workspace),  # every cycle
    ):
        assert sorted((r.path.name, r.ok, tuple(r.problems)) for r in results) == [
            ("followups_2027_v1.ics", True, ()),
            ("referat_2027_v1.pdf", True, ()),
            ("referat_2027_v2.pdf", True, ()),
        ]
    pdf = by_name(verify_archive(workspace, CYCLE))["referat_2027_v1.pdf"]
    assert pdf.subject == seals["ours"].subject and pdf.signed_at


def test_nothing_archived_yet_gives_no_results(tmp_path):
    workspace = Workspace.at(tmp_path)
    assert verify_archive(workspace, CYCLE) == []
    assert not (tmp_path / "output").exists()  # verify never creates folders


# --- verify: tampering -------------------------------------------------------------------------


def test_one_byte_change_fails(filled):
    workspace, archive = filled
    path = archive.folder / "201_Bjørg_Ødegård-Lien" / "referat_2027_v1.pdf"
    data = bytearray(path.read_bytes())
    at = data.index(b"Referat versjon 1") + 3
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    result = by_name(verify_archive(workspace, CYCLE))["referat_2027_v1.pdf"]
    assert not result.ok
    assert any("differs from the manifest" in p for p in result.problems)
    assert any("modified after sealing" in p for p in result.problems)
    assert "Signature Validation: Digest Mismatch." in pdfsig(path)
    assert by_name(verify_archive(workspace, CYCLE))["referat_2027_v2.pdf"].ok


def test_appended_incremental_update_fails(filled):
    workspace, archive = filled
    path = archive.folder / "201_Bjørg_Ødegård-Lien" / "referat_2027_v2.pdf"
    writer = PdfWriter(io.BytesIO(path.read_bytes()), incremental=True)
    writer.add_metadata({"/Title": "Referat – endret etterpå"})
    out = io.BytesIO()
    writer.write(out)
    path.write_bytes(out.getvalue())
    result = by_name(verify_archive(workspace, CYCLE))["referat_2027_v2.pdf"]
    assert not result.ok
    assert any("appended after sealing" in p for p in result.problems)
    assert "Total document signed" not in pdfsig(path)


def test_pdf_replaced_by_one_sealed_with_another_certificate_fails(filled, seals):
    workspace, archive = filled
    path = archive.folder / "201_Bjørg_Ødegård-Lien" / "referat_2027_v1.pdf"
    forged = sealed(seals["theirs"], "Referat versjon 1")
    path.write_bytes(forged)
    assert "Signature is Valid" in pdfsig(path)  # a perfectly good seal, just not ours
    result = by_name(verify_archive(workspace, CYCLE))["referat_2027_v1.pdf"]
    assert not result.ok
    assert any("another certificate" in p for p in result.problems)
    # even with the manifest rewritten to match, the configured certificate decides
    forged_sha = hashlib.sha256(forged).hexdigest()
    theirs = seals["theirs"].certificate_sha256
    rewrite_manifest(
        archive,
        lambda e: (
            {**e, "sha256": forged_sha, "certificate_sha256": theirs}
            if e["path"].endswith("v1.pdf")
            else e
        ),
    )
    ours = seals["ours"].certificate_sha256
    result = by_name(verify_archive(workspace, CYCLE, expected_certificate_sha256=ours))[path.name]
    assert not result.ok
    assert any("than the configured one" in p for p in result.problems)


def test_manifest_hash_mismatch_fails(filled):
    workspace, archive = filled
    rewrite_manifest(
        archive, lambda e: {**e, "sha256": "0" * 64} if e["path"].endswith(".ics") else e
    )
    results = by_name(verify_archive(workspace, CYCLE))
    assert not results["followups_2027_v1.ics"].ok
    assert results["followups_2027_v1.ics"].problems == [
        f"its SHA-256 ({hashlib.sha256(ICS).hexdigest()[:16]}…) differs from the manifest's "
        f"({'0' * 16}…)"
    ]
    assert results["referat_2027_v1.pdf"].ok


def test_missing_file_and_file_not_in_manifest_fail(filled, pdfs):
    workspace, archive = filled
    folder = archive.folder / "201_Bjørg_Ødegård-Lien"
    (folder / "referat_2027_v1.pdf").unlink()
    (folder / "referat_2027_v9.pdf").write_bytes(pdfs[1])
    (archive.folder / "notat.txt").write_text("lagt hit for hånd")
    results = by_name(verify_archive(workspace, CYCLE))
    assert results["referat_2027_v1.pdf"].problems == [
        "missing: the manifest lists it but the file is gone"
    ]
    for name in ("referat_2027_v9.pdf", "notat.txt"):
        assert not results[name].ok and "not in the manifest" in results[name].problems[0]
    assert results["referat_2027_v2.pdf"].ok


def test_damaged_or_hostile_manifest_lines_are_failures(filled):
    workspace, archive = filled
    with archive.manifest_path.open("a", encoding="utf-8") as handle:
        handle.write('{"path": "201_Bjørg_Ødegård-Lien/referat_2027_v3.pd\n')  # torn line
        entry = json.loads(archive.manifest_path.read_text().splitlines()[0])
        handle.write(json.dumps({**entry, "path": "../../../etc/hostname"}) + "\n")
    results = verify_archive(workspace, CYCLE)
    problems = [p for r in results if not r.ok for p in r.problems]
    assert any("line 4 of the manifest is damaged" in p for p in problems)
    assert any("outside the archive folder" in p for p in problems)
    with pytest.raises(ArchiveError, match="line 4"):
        Archive(archive.folder).entries()


# --- verify: given paths ------------------------------------------------------------------------


def test_given_paths_are_matched_by_place_or_by_hash(filled, seals, tmp_path):
    workspace, archive = filled
    inside = archive.folder / "201_Bjørg_Ødegård-Lien" / "referat_2027_v2.pdf"
    elsewhere = tmp_path / "mottatt" / "kopi av referatet.pdf"
    elsewhere.parent.mkdir()
    shutil.copy(inside, elsewhere)
    stranger = tmp_path / "mottatt" / "ukjent.pdf"
    stranger.write_bytes(sealed(seals["ours"], "Et annet referat"))
    results = verify_archive(workspace, paths=[inside, elsewhere.parent, tmp_path / "borte.pdf"])
    assert [(r.path.name, r.ok) for r in results] == [
        ("referat_2027_v2.pdf", True),
        ("kopi av referatet.pdf", True),
        ("ukjent.pdf", False),
        ("borte.pdf", False),
    ]
    assert "not in the archive's manifest" in results[2].problems[0]
    assert results[3].problems[0].startswith("cannot be read")


# --- the configured certificate -----------------------------------------------------------------


def test_public_certificate_is_written_once_and_read_without_password(tmp_path, seals):
    p12 = tmp_path / "seal" / "segl.p12"
    p12.parent.mkdir()
    shutil.copy(seals["p12"], p12)
    (tmp_path / "samtale.toml").write_text('[seal]\ncertificate = "seal/segl.p12"\n')
    workspace = Workspace.at(tmp_path)
    assert configured_certificate_sha256(workspace) is None  # nothing archived, nothing to check
    crt = write_public_certificate(seals["ours"], p12)
    assert crt == public_certificate_path(p12) == tmp_path / "seal" / "segl.crt"
    assert crt.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE" not in crt.read_bytes()
    assert configured_certificate_sha256(workspace) == seals["ours"].certificate_sha256
    assert write_public_certificate(seals["ours"], p12) == crt  # same seal: left alone
    with pytest.raises(SealError, match="holds another certificate"):
        write_public_certificate(seals["theirs"], p12)
    assert certificate_sha256(crt) == seals["ours"].certificate_sha256
    assert configured_certificate_sha256(Workspace.at(tmp_path / "elsewhere")) is None


def test_a_broken_public_certificate_is_explained(tmp_path):
    crt = tmp_path / "segl.crt"
    crt.write_bytes(b"not a certificate")
    with pytest.raises(SealError, match="not a certificate"):
        certificate_sha256(crt)


@pytest.mark.parametrize(
    ("name", "encode"), [("segl.pem", pem_of), ("segl.der", der_of), ("segl.crt", pem_of)]
)
def test_cert_option_naming_a_certificate_is_read_directly(filled, seals, tmp_path, name, encode):
    workspace, archive = filled
    forge_v1(archive, seals)
    certificate = tmp_path / "offentlig" / name
    certificate.parent.mkdir()
    certificate.write_bytes(encode(seals["ours"]))
    expected = configured_certificate_sha256(workspace, certificate)
    assert expected == seals["ours"].certificate_sha256
    results = by_name(verify_archive(workspace, CYCLE, expected_certificate_sha256=expected))
    forged = results["referat_2027_v1.pdf"]
    assert not forged.ok and any("than the configured one" in p for p in forged.problems)
    assert results["referat_2027_v2.pdf"].ok
    assert {r.note for r in results.values()} == {""}


def test_a_seal_without_its_public_certificate_stops_verify(filled, seals, tmp_path):
    workspace, archive = filled
    forge_v1(archive, seals)
    p12 = tmp_path / "nøkler" / "segl.p12"
    p12.parent.mkdir()
    shutil.copy(seals["p12"], p12)
    with pytest.raises(VerifyError) as given:
        configured_certificate_sha256(workspace, p12)
    (workspace.root / "samtale.toml").write_text(f'[seal]\ncertificate = "{p12}"\n')
    with pytest.raises(VerifyError) as configured:
        configured_certificate_sha256(workspace)
    for caught in (given, configured):
        message = str(caught.value)
        assert message.startswith(f"{p12}: this PKCS#12 seal has no public certificate segl.crt")
        assert "export the public certificate as segl.crt" in message
        assert "pass --cert path/to/seal.crt" in message
    write_public_certificate(seals["ours"], p12)  # what finalize does when it seals
    expected = configured_certificate_sha256(workspace)
    assert expected == seals["ours"].certificate_sha256
    result = by_name(verify_archive(workspace, CYCLE, expected_certificate_sha256=expected))
    assert not result["referat_2027_v1.pdf"].ok


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "the seal certificate is not there, nor its public certificate segl.crt"),
        (b"ikke et sertifikat", "neither a certificate (PEM or DER) nor a PKCS#12 seal"),
    ],
)
def test_a_missing_or_foreign_cert_option_stops_verify(filled, tmp_path, content, says):
    workspace, _ = filled
    certificate = tmp_path / "segl.pem"
    if content is not None:
        certificate.write_bytes(content)
    with pytest.raises(VerifyError) as caught:
        configured_certificate_sha256(workspace, certificate)
    assert str(caught.value).startswith(f"{certificate}: {says}")
    assert "--cert path/to/seal.crt" in str(caught.value)


def test_a_broken_public_certificate_beside_the_seal_stops_verify(filled, seals, tmp_path):
    workspace, _ = filled
    p12 = tmp_path / "segl.p12"
    shutil.copy(seals["p12"], p12)
    p12.with_suffix(".crt").write_bytes(b"avkortet")
    with pytest.raises(VerifyError, match="segl.crt: not a certificate"):
        configured_certificate_sha256(workspace, p12)


def test_without_a_configured_certificate_each_pdf_result_says_so(filled, seals):
    workspace, _ = filled
    fallback = by_name(verify_archive(workspace, CYCLE))
    for name in ("referat_2027_v1.pdf", "referat_2027_v2.pdf"):
        assert fallback[name].ok and fallback[name].note == NOT_CONFIGURED
    assert NOT_CONFIGURED == "certificate not configured: checked against the manifest"
    ours = seals["ours"].certificate_sha256
    checked = verify_archive(workspace, CYCLE, expected_certificate_sha256=ours)
    assert [r.note for r in checked] == [""] * 3


def test_a_pdf_whose_manifest_names_no_certificate_needs_a_configured_one(filled, seals):
    workspace, archive = filled
    rewrite_manifest(
        archive, lambda e: {**e, "certificate_sha256": ""} if e["path"].endswith("v1.pdf") else e
    )
    result = by_name(verify_archive(workspace, CYCLE))["referat_2027_v1.pdf"]
    assert not result.ok
    assert any("records no seal certificate" in p for p in result.problems)
    ours = seals["ours"].certificate_sha256
    checked = verify_archive(workspace, CYCLE, expected_certificate_sha256=ours)
    assert by_name(checked)["referat_2027_v1.pdf"].ok
