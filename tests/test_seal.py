"""Sealing the final minutes: attachments, metadata, PAdES seal, and catching tampering."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic as pdf_generic
from pyhanko.pdf_utils.generic import NameObject as HankoName
from pyhanko.pdf_utils.generic import TextStringObject as HankoText
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfStreamError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.ades.api import CAdESSignedAttrSpec, GenericCommitment
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText

from pipeline.errors import SealError
from pipeline.formats.seal import (
    PASSWORD_ENV,
    PYHANKO_HEX_READER,
    Attachment,
    PdfInfo,
    attachments_of,
    check_seal,
    cms_template,
    load_seal,
    prepare_pdf,
    read_hex_string,
    seal_minutes,
    seal_password,
    seal_pdf,
)
from testkit.certificates import DEMO_CERT_NAME, create_demo_certificate

from .conftest import pdf_of_objects

PASSWORD = "Fjellstue-Ørnereir 2025!"
ORGANISATION = "Bølgeby kommune"
LINES = ["Referat fra medarbeidersamtale 2025", "Ærlig tilbakemelding, ønsker og mål for året."]
INFO = PdfInfo(
    title="Referat – Åse Øvrebø-Lindqvist",
    author="HR, Bølgeby kommune",
    subject="Medarbeidersamtale 2025: endelig referat",
    keywords=["medarbeidersamtale", "2025", "referat", "Øvrebø-Lindqvist"],
)
ANSWERS = json.dumps(
    {"employee": "Åse Øvrebø-Lindqvist", "goals": "Lære å lede møter på nynorsk"},
    ensure_ascii=False,
).encode()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ATTACHMENTS = [
    Attachment("svar.json", ANSWERS, "Svarene som JSON", "application/json"),
    Attachment(
        "Forberedelse – Åse Øvrebø-Lindqvist (ansatt).docx", os.urandom(3000), "Ansatt", DOCX
    ),
    Attachment("Forberedelse – Bjørn Ærlig-Håkonsen (leder).docx", b"PK\x03\x04\x00\xff", "", DOCX),
]
XMP_PDFA = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<pdfaid:part>{part}</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Gammel tittel</rdf:li></rdf:Alt></dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def minutes_pdf(lines: list[str] = LINES, xmp: str | None = None) -> bytes:
    """Return a one-page PDF showing ``lines`` (Helvetica, WinAnsi), optionally with XMP."""
    text = (
        b"BT /F1 12 Tf 72 760 Td 16 TL "
        + b" ".join(b"(" + line.encode("cp1252") + b") '" for line in lines)
        + b" ET"
    )
    catalog = b"<< /Type /Catalog /Pages 2 0 R" + (b" /Metadata 6 0 R" if xmp else b"") + b" >>"
    objects = [
        catalog,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    if xmp:
        data = xmp.encode()
        objects.append(
            b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(data)
            + data
            + b"\nendstream"
        )
    return pdf_of_objects(objects)


@pytest.fixture(scope="module")
def demo_p12(tmp_path_factory) -> Path:
    return create_demo_certificate(
        tmp_path_factory.mktemp("seal") / "demo-seal.p12", PASSWORD, ORGANISATION
    )


@pytest.fixture(scope="module")
def demo_seal(demo_p12):
    return load_seal(demo_p12, PASSWORD)


@pytest.fixture(scope="module", params=["one pass", "two passes"])
def sealed(demo_seal, request) -> bytes:
    # finalize seals in one pass (seal_minutes); prepare_pdf then seal_pdf must give the same.
    if request.param == "one pass":
        return seal_minutes(
            minutes_pdf(),
            INFO,
            ATTACHMENTS,
            demo_seal,
            reason="Endelig referat",
            location="Bølgeby",
        )
    prepared = prepare_pdf(minutes_pdf(), INFO, ATTACHMENTS)
    return seal_pdf(prepared, demo_seal, reason="Endelig referat", location="Bølgeby")


def pdfsig(tmp_path: Path, pdf: bytes) -> str:
    path = tmp_path / "sjekk.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def flip_byte(pdf: bytes, inside: bytes) -> bytes:
    """Return ``pdf`` with one byte of the unique occurrence of ``inside`` changed."""
    assert pdf.count(inside) == 1
    at = pdf.index(inside) + 1
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


# --- a good seal -------------------------------------------------------------------------------


def test_sealed_minutes_pass_the_check(sealed, demo_seal):
    check = check_seal(sealed, expected_certificate_sha256=demo_seal.certificate_sha256)
    assert check.problems == []
    assert (check.ok, check.intact, check.covers_whole_file) == (True, True, True)
    assert check.certificate_sha256 == demo_seal.certificate_sha256
    assert check.subject == demo_seal.subject and DEMO_CERT_NAME in check.subject
    signed_at = dt.datetime.fromisoformat(check.signed_at)
    assert abs(dt.datetime.now(dt.UTC) - signed_at) < dt.timedelta(minutes=5)


def test_pdfsig_reports_a_valid_pades_seal(sealed, tmp_path):
    report = pdfsig(tmp_path, sealed)
    assert "Signature Validation: Signature is Valid." in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Signing Hash Algorithm: SHA-256" in report
    assert "Total document signed" in report
    assert f"{ORGANISATION} – DEMO seal (not valid)" in report


def test_pdftotext_still_reads_the_minutes(sealed, tmp_path):
    path = tmp_path / "referat.pdf"
    path.write_bytes(sealed)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for line in LINES:
        assert line in text


def test_attachments_round_trip_byte_for_byte(sealed):
    assert attachments_of(sealed) == {a.name: a.data for a in ATTACHMENTS}


def test_attachments_carry_description_type_and_pdfa3_relationship(sealed):
    reader = PdfReader(io.BytesIO(sealed))
    found = {entry.name: entry for entry in reader.attachment_list}
    answers = found["svar.json"]
    assert answers.description == "Svarene som JSON"
    assert answers.subtype == "/application/json"
    assert answers.associated_file_relationship == "/Data"
    assert answers.size == len(ANSWERS)
    docx = found[ATTACHMENTS[1].name]
    assert docx.alternative_name == ATTACHMENTS[1].name  # /UF as well as /F
    assert docx.associated_file_relationship == "/Source"
    assert len(reader.root_object["/AF"]) == len(ATTACHMENTS)


def test_metadata_reads_back_from_info_and_xmp(sealed):
    reader = PdfReader(io.BytesIO(sealed))
    meta = reader.metadata
    assert (meta.title, meta.author, meta.subject) == (INFO.title, INFO.author, INFO.subject)
    assert [k.strip() for k in meta["/Keywords"].split(",")] == INFO.keywords
    xmp = reader.xmp_metadata
    assert xmp.dc_title == {"x-default": INFO.title}
    assert xmp.dc_creator == [INFO.author]
    assert xmp.dc_description == {"x-default": INFO.subject}
    assert sorted(xmp.dc_subject) == sorted(INFO.keywords)
    assert xmp.pdf_keywords == meta["/Keywords"]
    assert xmp.pdf_producer == meta.producer  # PDF/A: Info and XMP must agree


@pytest.mark.parametrize(("declared", "expected"), [("2", "3"), ("3", "3"), ("1", None)])
def test_pdfa_claim_stays_honest_with_attachments(demo_seal, declared, expected):
    prepared = prepare_pdf(minutes_pdf(xmp=XMP_PDFA.format(part=declared)), INFO, ATTACHMENTS)
    sealed = seal_pdf(prepared, demo_seal, reason="Endelig referat")
    xmp = PdfReader(io.BytesIO(sealed)).xmp_metadata
    assert xmp.pdfaid_part == expected
    assert xmp.dc_title == {"x-default": INFO.title}  # the old title is replaced, not doubled
    assert check_seal(sealed).ok


def test_pdfa2_without_attachments_keeps_its_claim(demo_seal):
    prepared = prepare_pdf(minutes_pdf(xmp=XMP_PDFA.format(part="2")), INFO, [])
    assert PdfReader(io.BytesIO(prepared)).xmp_metadata.pdfaid_part == "2"
    assert attachments_of(prepared) == {}


XMP_WITH_DTD = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<!DOCTYPE x:xmpmeta [<!ENTITY hemmelig SYSTEM "file://{secret}">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">&hemmelig;</rdf:li></rdf:Alt></dc:rights>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


@pytest.mark.parametrize("kind", ["dtd", "not-xml"])
def test_unreadable_xmp_is_replaced_not_carried_into_the_seal(demo_seal, tmp_path, caplog, kind):
    secret = tmp_path / "hemmelig.txt"
    secret.write_text("Lønn: 612 000 kr", encoding="utf-8")
    xmp = XMP_WITH_DTD.format(secret=secret) if kind == "dtd" else "<x:xmpmeta>ikke ferdig"
    with caplog.at_level(logging.WARNING, logger="pipeline.formats.seal"):
        prepared = prepare_pdf(minutes_pdf(xmp=xmp), INFO, ATTACHMENTS)
    assert "XMP metadata of the minutes PDF was unreadable and was replaced" in caplog.text
    sealed = seal_pdf(prepared, demo_seal, reason="Endelig referat")
    packet = PdfReader(io.BytesIO(sealed)).root_object["/Metadata"].get_object().get_data()
    assert b"<!DOCTYPE" not in packet and b"ENTITY" not in packet and b"hemmelig" not in packet
    assert "Lønn".encode() not in sealed
    assert PdfReader(io.BytesIO(sealed)).xmp_metadata.dc_title == {"x-default": INFO.title}
    assert check_seal(sealed, expected_certificate_sha256=demo_seal.certificate_sha256).ok


# --- tampering ---------------------------------------------------------------------------------


def test_one_byte_change_in_signed_content_is_caught(sealed, demo_seal, tmp_path):
    tampered = flip_byte(sealed, b"Referat fra medarbeidersamtale")
    check = check_seal(tampered, expected_certificate_sha256=demo_seal.certificate_sha256)
    assert not check.ok and not check.intact
    assert check.covers_whole_file  # same length: only the digest gives it away
    assert any("modified after sealing" in problem for problem in check.problems)
    assert "Signature Validation: Digest Mismatch." in pdfsig(tmp_path, tampered)


def _append_info_change(sealed: bytes) -> bytes:
    writer = PdfWriter(io.BytesIO(sealed), incremental=True)
    writer.add_metadata({"/Title": "Referat – endret etterpå"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _append_annotation(sealed: bytes) -> bytes:
    writer = PdfWriter(io.BytesIO(sealed), incremental=True)
    writer.add_annotation(0, FreeText(text="Tillegg", rect=(50, 50, 200, 80)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _append_with_pyhanko(sealed: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    writer.root[HankoName("/Lang")] = HankoText("nn-NO")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "append",
    [
        _append_info_change,
        _append_annotation,
        _append_with_pyhanko,
        lambda pdf: pdf + b"% lagt til etterpaa\n",
    ],
    ids=["pypdf-info", "pypdf-annotation", "pyhanko-catalog", "raw-bytes"],
)
def test_appended_update_is_caught(sealed, demo_seal, append):
    updated = append(sealed)
    assert updated.startswith(sealed) and len(updated) > len(sealed)
    check = check_seal(updated, expected_certificate_sha256=demo_seal.certificate_sha256)
    assert check.intact  # the signed bytes themselves are untouched …
    assert not check.covers_whole_file and not check.ok  # … but more was added
    assert any("appended after sealing" in problem for problem in check.problems)


def test_seal_by_another_certificate_is_caught(tmp_path, demo_seal):
    other_p12 = create_demo_certificate(tmp_path / "other.p12", "annet", "Annen etat")
    other = load_seal(other_p12, "annet")
    sealed = seal_pdf(prepare_pdf(minutes_pdf(), INFO, []), other, reason="Endelig referat")
    assert check_seal(sealed).ok  # fine on its own …
    check = check_seal(sealed, expected_certificate_sha256=demo_seal.certificate_sha256)
    assert not check.ok and check.intact  # … but not the configured seal
    assert check.certificate_sha256 == other.certificate_sha256
    assert any("another certificate" in problem for problem in check.problems)


def test_non_pades_signature_is_reported(demo_seal):
    meta = signers.PdfSignatureMetadata(
        field_name="Seal", md_algorithm="sha256", subfilter=SigSeedSubFilter.ADOBE_PKCS7_DETACHED
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(minutes_pdf()))
    signed = signers.PdfSigner(meta, signer=demo_seal.signer).sign_pdf(writer).getvalue()
    check = check_seal(signed, expected_certificate_sha256=demo_seal.certificate_sha256)
    assert check.intact and check.covers_whole_file and not check.ok
    assert any("not a PAdES seal" in problem for problem in check.problems)


@pytest.mark.parametrize(
    ("pdf", "says"),
    [
        (minutes_pdf(), "no seal"),
        (b"", "not a readable PDF"),
        (b"dette er ingen PDF", "not a readable PDF"),
    ],
    ids=["unsigned", "empty", "not-a-pdf"],
)
def test_check_reports_instead_of_raising(pdf, says):
    check = check_seal(pdf)
    assert not check.ok and not check.intact
    assert any(says in problem for problem in check.problems)


def test_truncated_seal_is_reported(sealed):
    check = check_seal(sealed[: len(sealed) // 2])
    assert not check.ok and check.problems


def test_sealing_twice_and_preparing_a_sealed_pdf_are_refused(sealed, demo_seal):
    with pytest.raises(SealError, match="already sealed"):
        seal_pdf(sealed, demo_seal, reason="igjen")
    with pytest.raises(SealError, match="already signed"):
        prepare_pdf(sealed, INFO, [])


def test_broken_input_and_duplicate_attachment_names_are_refused(demo_seal):
    with pytest.raises(SealError, match="cannot be read"):
        prepare_pdf(b"%PDF-1.7 halvferdig", INFO, [])
    with pytest.raises(SealError, match="appears twice"):
        prepare_pdf(minutes_pdf(), INFO, [ATTACHMENTS[0], ATTACHMENTS[0]])
    with pytest.raises(SealError, match="could not be sealed"):
        seal_pdf(b"ingen pdf", demo_seal, reason="x")


def test_encrypted_minutes_are_refused():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(minutes_pdf())))
    writer.encrypt(user_password="", owner_password="eier", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(SealError, match="encrypted"):
        prepare_pdf(out.getvalue(), INFO, [])


# --- certificate and password ------------------------------------------------------------------


def test_demo_certificate_is_private_named_demo_and_may_seal(demo_p12):
    assert stat.S_IMODE(demo_p12.stat().st_mode) == 0o600
    _key, cert, _chain = pkcs12.load_key_and_certificates(demo_p12.read_bytes(), PASSWORD.encode())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    org = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert cn == f"{ORGANISATION} – DEMO seal (not valid)"
    assert DEMO_CERT_NAME in org
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert cert.not_valid_after_utc - cert.not_valid_before_utc > dt.timedelta(days=3600)


def test_demo_certificate_is_never_overwritten(demo_p12):
    before = demo_p12.read_bytes()
    with pytest.raises(SealError, match="refusing to overwrite"):
        create_demo_certificate(demo_p12, "nytt passord", ORGANISATION)
    assert demo_p12.read_bytes() == before


def test_demo_certificate_fits_a_long_organisation_name(tmp_path):
    name = "Interkommunalt Samarbeid for Helse-, Omsorgs- og Velferdstjenester i Nord-Østerdalen"
    path = create_demo_certificate(tmp_path / "lang.p12", "pw", name, days=30)
    seal = load_seal(path, "pw")
    assert "DEMO seal (not valid)" in seal.subject and DEMO_CERT_NAME in seal.subject


def test_wrong_password_is_named_without_echoing_it(demo_p12):
    with pytest.raises(SealError, match="wrong password") as caught:
        load_seal(demo_p12, "feil-passord-æøå")
    assert str(demo_p12) in str(caught.value) and PASSWORD_ENV in str(caught.value)
    assert "feil-passord" not in str(caught.value)


def test_missing_or_foreign_certificate_file_is_explained(tmp_path):
    with pytest.raises(SealError, match="not found.*make_demo_certificate"):
        load_seal(tmp_path / "finnes-ikke.p12", PASSWORD)
    foreign = tmp_path / "sertifikat.pem"
    foreign.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(SealError, match="not a PKCS#12"):
        load_seal(foreign, PASSWORD)


def _p12_with(tmp_path: Path, *, with_key: bool, days: tuple[int, int] = (-1, 30)) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Testsegl")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"test",
        key if with_key else None,
        cert,
        None,
        serialization.BestAvailableEncryption(b"pw"),
    )
    path = tmp_path / "segl.p12"
    path.write_bytes(data)
    return path


def test_certificate_without_key_is_refused(tmp_path):
    with pytest.raises(SealError, match="no private key"):
        load_seal(_p12_with(tmp_path, with_key=False), "pw")


def test_expired_certificate_is_refused(tmp_path):
    with pytest.raises(SealError, match="expired"):
        load_seal(_p12_with(tmp_path, with_key=True, days=(-60, -1)), "pw")


def test_ec_seal_without_key_usage_also_works(tmp_path):
    seal = load_seal(_p12_with(tmp_path, with_key=True), "pw")
    sealed = seal_pdf(prepare_pdf(minutes_pdf(), INFO, []), seal, reason="Endelig referat")
    check = check_seal(sealed, expected_certificate_sha256=seal.certificate_sha256)
    assert check.ok, check.problems


def test_seal_password_comes_from_the_environment_first():
    asked = []
    env = {PASSWORD_ENV: PASSWORD}
    assert seal_password(env, prompt=lambda text: asked.append(text) or "ignored") == PASSWORD
    assert asked == []


def test_seal_password_is_asked_for_when_the_environment_has_none():
    asked = []
    assert seal_password({}, prompt=lambda text: asked.append(text) or "fra-terminal") == (
        "fra-terminal"
    )
    assert seal_password({PASSWORD_ENV: ""}, prompt=lambda text: "tom-env") == "tom-env"
    assert len(asked) == 1 and "password" in asked[0].lower()


def test_seal_password_missing_everywhere_is_an_error():
    with pytest.raises(SealError, match=PASSWORD_ENV):
        seal_password({})
    with pytest.raises(SealError, match=PASSWORD_ENV):
        seal_password({}, prompt=lambda text: "")


# --- real LibreOffice output -------------------------------------------------------------------


@pytest.mark.libreoffice
def test_libreoffice_pdfa_minutes_are_sealed_and_checked(tmp_path, demo_seal):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    source = tmp_path / "referat.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    export = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
         "--convert-to", export, "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    rendered = (tmp_path / "referat.pdf").read_bytes()
    sealed = seal_pdf(prepare_pdf(rendered, INFO, ATTACHMENTS), demo_seal, reason="Endelig")
    check = check_seal(sealed, expected_certificate_sha256=demo_seal.certificate_sha256)
    assert check.ok, check.problems
    reader = PdfReader(io.BytesIO(sealed))
    assert reader.xmp_metadata.pdfaid_part == "3"
    assert reader.xmp_metadata.pdf_producer == reader.metadata.producer
    assert "Signature Validation: Signature is Valid." in pdfsig(tmp_path, sealed)
    assert attachments_of(sealed) == {a.name: a.data for a in ATTACHMENTS}


# --- speed without weakening the seal ----------------------------------------------------------


def test_one_pass_adds_one_revision_covering_the_whole_file(demo_seal):
    sealed = seal_minutes(minutes_pdf(), INFO, ATTACHMENTS, demo_seal, reason="Endelig referat")
    reader = PdfFileReader(io.BytesIO(sealed))
    assert reader.xrefs.total_revisions == 2  # the rendered PDF, then one update: contents + seal
    assert reader.embedded_signatures[0].signed_revision == 1
    assert check_seal(sealed, expected_certificate_sha256=demo_seal.certificate_sha256).ok


def test_the_key_is_parsed_once_per_seal_not_per_pdf(demo_seal, monkeypatch):
    def parse_again(*args, **kwargs):
        raise AssertionError("the private key was parsed again for one PDF")

    monkeypatch.setattr(serialization, "load_der_private_key", parse_again)
    sealed = seal_minutes(minutes_pdf(), INFO, [], demo_seal, reason="Endelig referat")
    assert check_seal(sealed, expected_certificate_sha256=demo_seal.certificate_sha256).ok


def test_the_container_is_sized_once_as_pyhanko_sizes_it(demo_seal):
    # pyHanko's own estimate for this signer, made the way it makes it before each signature.
    writer = IncrementalPdfFileWriter(io.BytesIO(minutes_pdf()))
    meta = signers.PdfSignatureMetadata(
        field_name="Seal", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
    )
    session = signers.PdfSigner(meta, signer=demo_seal.signer).init_signing_session(writer)
    estimate = asyncio.run(session.estimate_signature_container_size(None))
    assert demo_seal.container_size == estimate
    sealed = seal_minutes(minutes_pdf(), INFO, [], demo_seal, reason="Endelig referat")
    signature = PdfFileReader(io.BytesIO(sealed)).embedded_signatures[0]
    assert len(signature.sig_object.raw_get("/Contents").original_bytes) * 2 == estimate


# --- the container template ----------------------------------------------------------------------


def pades_container(signer, digest: bytes, *, own: bool = True, **settings) -> bytes:
    """Return the DER of a PAdES container for ``digest``: ours, or pyHanko's own builder's."""
    sign = type(signer).async_sign if own else signers.SimpleSigner.async_sign
    attributes = PdfCMSSignedAttributes(signing_time=dt.datetime.now(dt.UTC), **settings)
    made = sign(signer, digest, "sha256", use_pades=True, signed_attr_settings=attributes)
    return asyncio.run(made).dump()


def test_template_containers_are_byte_for_byte_pyhankos(demo_p12):
    seal = load_seal(demo_p12, PASSWORD)  # its own signer: no template yet
    reference = load_seal(demo_p12, PASSWORD).signer
    digests = [os.urandom(32) for _ in range(4)]
    ours = [pades_container(seal.signer, digest) for digest in digests]
    assert seal.signer.templates[("sha256", True)] is not None  # made by the first container
    assert ours == [pades_container(reference, digest, own=False) for digest in digests]
    assert len(set(ours)) == len(digests)


def test_pdfs_sealed_from_the_template_pass_the_check(demo_p12, tmp_path):
    seal = load_seal(demo_p12, PASSWORD)
    first, second = (
        seal_minutes(minutes_pdf(lines), INFO, ATTACHMENTS, seal, reason="Endelig referat")
        for lines in (LINES, ["Referat for Ørjan Kvåle-Nilsen", "Andre mål for året."])
    )
    assert seal.signer.templates[("sha256", True)] is not None
    for pdf in (first, second):
        check = check_seal(pdf, expected_certificate_sha256=seal.certificate_sha256)
        assert check.ok, check.problems
    assert "Signature is Valid" in pdfsig(tmp_path, second)
    assert check_seal(flip_byte(second, b"Andre"), expected_certificate_sha256="").ok is False


def test_settings_the_template_does_not_carry_get_pyhankos_container(demo_p12):
    seal = load_seal(demo_p12, PASSWORD)
    pades_container(seal.signer, os.urandom(32))  # the template exists from here on
    commitment = CAdESSignedAttrSpec(commitment_type=GenericCommitment.PROOF_OF_APPROVAL.asn1)
    der = pades_container(seal.signer, os.urandom(32), cades_signed_attrs=commitment)
    signed = cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signed_attrs"]
    assert "commitment_type" in {attribute["type"].native for attribute in signed}


def test_a_container_with_a_signing_time_gives_no_template(demo_p12):
    seal = load_seal(demo_p12, PASSWORD)
    attributes = PdfCMSSignedAttributes(signing_time=dt.datetime.now(dt.UTC))
    digest = os.urandom(32)
    plain_cms = seal.signer.async_sign(digest, "sha256", signed_attr_settings=attributes)
    signed = asyncio.run(plain_cms)  # not PAdES: the time is a signed attribute
    assert cms_template(signed, digest) is None
    assert seal.signer.templates[("sha256", False)] is None


# --- reading hex strings -------------------------------------------------------------------------


def read_both(raw: bytes) -> tuple:
    """Return (value or error, position after) from pyHanko's reader and from ours."""
    found = []
    for reader in (PYHANKO_HEX_READER, read_hex_string):
        stream = io.BytesIO(b"<" + raw)
        try:
            value = reader(stream)
            found.append((type(value), bytes(value.original_bytes), stream.tell()))
        except PdfStreamError as exc:
            found.append(("error", str(exc)))
    return tuple(found)


@pytest.mark.parametrize(
    "raw",
    [
        b"48656c6c6f> 0 R",
        b"48 65\n6C\r\n6c\t6f\x00\x0c> /Next",
        b"486>",
        b">",
        b"FEFF00C600F8>",  # UTF-16 text: a text string
        b"4865 % a comment\n6c6c6f> 1",
        b"48g5>",
        b"4865",
        b"ab" * 20000 + b">trailer",  # longer than one block, as a seal's /Contents
    ],
)
def test_hex_strings_read_as_pyhanko_reads_them(raw):
    pyhanko_reads, we_read = read_both(raw)
    assert we_read == pyhanko_reads


@given(
    st.lists(st.sampled_from([*b"0123456789abcdefABCDEF", *b" \n\r\t"]), max_size=300),
    st.binary(max_size=20),
)
def test_any_hex_string_with_whitespace_reads_as_pyhanko_reads_it(digits, after):
    raw = bytes(digits) + b">" + after
    pyhanko_reads, we_read = read_both(raw)
    assert we_read == pyhanko_reads


def test_seals_are_checked_with_our_hex_reader_in_place():
    assert pdf_generic.read_hex_string_from_stream is read_hex_string
