"""Seal the final minutes: attachments, metadata and a PAdES seal (pyHanko), and its check.

The organisation's seal is a PKCS#12 file. Its password comes from ``SAMTALE_SEAL_PASSWORD`` or
a prompt, never from an option or a log. Sealing is PAdES B-B (subfilter ``ETSI.CAdES.detached``,
SHA-256) without a timestamp authority or revocation lookups: nothing here touches the network.

Checking a seal trusts the certificate found in the file only as far as its SHA-256 fingerprint
matches the configured one; a self-signed demo certificate is therefore checked as well as one
issued by a CA. The seal must cover the whole file: anything appended later is reported.

Speed (a January seals thousands of PDFs): the private key is parsed and checked once, when the
seal is loaded, not for every signature; the signature container is sized once per seal from a
dry run with a placeholder signature value (no trial signature per PDF); and ``seal_minutes``
adds the attachments, the metadata and the seal in one incremental update, reading the rendered
PDF only through its cross-reference table instead of copying every object. After a process's
first seal, containers are filled in from a template of that first one (``CmsTemplate``), and
hex strings (a seal's signature value) are read in blocks (``read_hex_string``).
"""

from __future__ import annotations

import asyncio
import binascii
import dataclasses
import datetime as dt
import hashlib
import io
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import cms
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_VENDOR
from pyhanko.pdf_utils.metadata.xmp_xml import MetadataStream
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.util import get_pyca_cryptography_hash
from pypdf import PdfReader

from pipeline.errors import Rejected, SealError, VerifyError, plain_reason
from pipeline.formats.ooxml import parse_xml

log = logging.getLogger(__name__)

PASSWORD_ENV = "SAMTALE_SEAL_PASSWORD"  # noqa: S105 (the variable's name, not a secret)
PASSWORD_PROMPT = "Password for the seal certificate: "  # noqa: S105 (prompt text)
SUBFILTER = "/ETSI.CAdES.detached"
RESTORE = "restore the file from your backup of the archive"  # a damaged archived PDF
DIGEST = "sha256"
SEAL_KEY_USAGES = {"digital_signature", "non_repudiation"}
NO_PASSWORD_FIX = (
    f"set the environment variable {PASSWORD_ENV} or run the command in a terminal to be asked"
)
MISSING_CERT_FIX = (
    "set [seal] certificate in samtale.toml (or pass --cert) to the organisation's PKCS#12 "
    "file; for a trial, `python tools/make_demo_certificate.py` makes a DEMO certificate"
)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
PDF_NS = "http://ns.adobe.com/pdf/1.3/"
PDFAID = "http://www.aiim.org/pdfa/ns/id/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MANAGED_XMP = {f"{{{DC}}}title", f"{{{DC}}}creator", f"{{{DC}}}description"}
MANAGED_XMP |= {f"{{{DC}}}subject", f"{{{PDF_NS}}}Keywords"}
EMPTY_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}"/></x:xmpmeta>'
    '<?xpacket end="w"?>'
).encode()


@dataclass(frozen=True)
class Seal:
    """The organisation's seal loaded from its PKCS#12 file, ready to sign."""

    signer: signers.SimpleSigner = field(repr=False)
    certificate_sha256: str
    subject: str
    container_size: int | None = None  # bytes reserved for the signature; None: sized per PDF


@dataclass(frozen=True)
class Attachment:
    """A file to embed in the minutes PDF (a returned document, or the answers as JSON)."""

    name: str
    data: bytes
    description: str = ""
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class PdfInfo:
    """Document metadata written to the Info dictionary and to XMP."""

    title: str
    author: str
    subject: str
    keywords: list[str]


@dataclass(frozen=True)
class SealCheck:
    """What ``check_seal`` found; ``ok`` only when ``problems`` is empty."""

    ok: bool
    intact: bool
    covers_whole_file: bool
    certificate_sha256: str
    subject: str
    signed_at: str
    problems: list[str]


# --- reading hex strings at once -----------------------------------------------------------------

PYHANKO_HEX_READER = generic.read_hex_string_from_stream
PDF_WHITESPACE = b" \n\r\t\f\x00"
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
HEX_BLOCK = 16384


def read_hex_string(stream) -> generic.ByteStringObject | generic.TextStringObject:
    """Return the PDF hex string at the stream's position (``<…>``), read as pyHanko reads it."""
    # pyHanko reads a hex string one byte at a time, and a seal's /Contents holds some 8,000
    # hex digits: a third of checking a seal went there. This reads up to the closing '>' in
    # blocks; a string with a comment in it (which pyHanko skips) is left to pyHanko's reader.
    start = stream.tell()
    stream.read(1)  # the opening '<'
    chunks: list[bytes] = []
    while True:
        block = stream.read(HEX_BLOCK)
        end = block.find(b">")
        if end >= 0:
            chunks.append(block[:end])
            stream.seek(end + 1 - len(block), os.SEEK_CUR)  # back to just after the ">"
            break
        if not block:
            stream.seek(start)
            return PYHANKO_HEX_READER(stream)  # cut short: pyHanko's own error
        chunks.append(block)
    digits = b"".join(chunks).translate(None, PDF_WHITESPACE)
    if not HEX_DIGITS.issuperset(digits):
        stream.seek(start)
        return PYHANKO_HEX_READER(stream)  # a comment, or a bad digit: pyHanko decides
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


generic.read_hex_string_from_stream = read_hex_string  # pyHanko's parser calls it by this name


# --- the certificate ---------------------------------------------------------------------------


def seal_password(
    env: Mapping[str, str] = os.environ, prompt: Callable[[str], str] | None = None
) -> str:
    """Return the seal password from ``SAMTALE_SEAL_PASSWORD``, else from ``prompt``."""
    password = env.get(PASSWORD_ENV, "")
    if not password and prompt is not None:
        password = prompt(PASSWORD_PROMPT)
    if not password:
        raise SealError(f"no password for the seal certificate; {NO_PASSWORD_FIX}")
    return password


def load_seal(p12_path: Path, password: str) -> Seal:
    """Return the seal read from a PKCS#12 file, checked to be usable for signing today."""
    p12_path = Path(p12_path)
    try:
        data = p12_path.read_bytes()
    except FileNotFoundError as exc:
        raise SealError(f"{p12_path}: seal certificate not found; {MISSING_CERT_FIX}") from exc
    except OSError as exc:
        raise SealError(f"{p12_path}: cannot read the seal certificate ({exc.strerror})") from exc
    key, certificate = _open_pkcs12(p12_path, data, password)
    _check_usable(p12_path, key, certificate)
    loaded = signers.SimpleSigner.load_pkcs12_data(data, [], passphrase=password.encode())
    signer = KeptKeySigner(
        loaded.signing_cert, loaded.signing_key, loaded.cert_registry, private_key=key
    )
    return Seal(
        signer=signer,
        certificate_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        subject=signer.signing_cert.subject.human_friendly,
        container_size=container_size(signer),
    )


class KeptKeySigner(signers.SimpleSigner):
    """pyHanko's in-memory signer, its private key parsed once instead of for every signature."""

    # pyHanko's SimpleSigner parses (and for RSA fully re-checks) the key on every sign_raw;
    # this signer signs with the key object ``load_seal`` already checked. The signature itself
    # is the same: same mechanism, same padding, same digest.

    # Building the CMS container with asn1crypto costs ten times the RSA signature itself, and
    # for one seal every container is the same but for the document digest and the signature
    # value. The first container a process makes is pyHanko's own; it becomes a template
    # (``CmsTemplate``) that later containers are filled in from, byte for byte what pyHanko
    # would make (RSA PKCS#1 v1.5 signatures are deterministic: tests/test_seal.py compares).

    def __init__(self, *args, private_key, **kwargs):
        super().__init__(*args, **kwargs)
        self.private_key = private_key
        self.templates: dict[tuple[str, bool], CmsTemplate | None] = {}

    async def async_sign(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run=False,
        use_pades=False,
        timestamper=None,
        signed_attr_settings: PdfCMSSignedAttributes | None = None,
        is_pdf_sig=True,
        encap_content_info=None,
    ) -> cms.ContentInfo:
        """Return the CMS container signing ``data_digest``: from the template when there is one."""
        plain = (
            not dry_run
            and timestamper is None
            and encap_content_info is None
            and is_pdf_sig
            and is_plain(signed_attr_settings)
            and self.signed_attr_prov_spec is None
            and self.unsigned_attr_prov_spec is None
        )
        key = (digest_algorithm, bool(use_pades))
        template = self.templates.get(key) if plain else None
        if template is not None and len(data_digest) == template.digest_size:
            to_sign = template.signed_bytes(data_digest)
            signature = self.sign_raw(to_sign, digest_algorithm)
            return cms.ContentInfo.load(template.container(data_digest, signature))
        signed = await super().async_sign(
            data_digest,
            digest_algorithm,
            dry_run=dry_run,
            use_pades=use_pades,
            timestamper=timestamper,
            signed_attr_settings=signed_attr_settings,
            is_pdf_sig=is_pdf_sig,
            encap_content_info=encap_content_info,
        )
        if plain and key not in self.templates and isinstance(self.private_key, rsa.RSAPrivateKey):
            self.templates[key] = cms_template(signed, data_digest)
        return signed

    def sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        """Return the raw signature of ``data`` (a placeholder of the right size in a dry run)."""
        if dry_run and self.placeholder_size():
            return bytes(self.placeholder_size())
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            name = mechanism.signature_algo  # as pyHanko's own sign_raw decides
        except ValueError:
            name = mechanism["algorithm"].native
        key = self.private_key
        if name == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if name == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)  # anything else: pyHanko's own way

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
        """Return ``sign_raw``'s signature (pyHanko's asynchronous entry point)."""
        return self.sign_raw(data, digest_algorithm, dry_run)

    def placeholder_size(self) -> int:
        """Return the largest raw signature this key makes (0: unknown, sign for real)."""
        key = self.private_key
        if isinstance(key, rsa.RSAPrivateKey):
            return (key.key_size + 7) // 8
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return 2 * ((key.curve.key_size + 7) // 8) + 9  # DER SEQUENCE of two INTEGERs, max
        return 0


TEMPLATE_ATTRIBUTES = {"content_type", "message_digest", "signing_certificate_v2"}


@dataclass(frozen=True)
class CmsTemplate:
    """A seal's CMS container cut where the document digest and the signature value go."""

    digest_size: int
    signature_size: int
    signed_parts: tuple[bytes, bytes]  # the signed attributes around the digest
    container_parts: tuple[bytes, bytes, bytes]  # the container around digest and signature

    def signed_bytes(self, digest: bytes) -> bytes:
        """Return the signed attributes' DER (what is signed) for this document digest."""
        return digest.join(self.signed_parts)

    def container(self, digest: bytes, signature: bytes) -> bytes:
        """Return the whole container's DER for this digest and signature value."""
        if len(signature) != self.signature_size:
            raise ValueError("signature of an unexpected size for the seal's template")
        head, middle, tail = self.container_parts
        return b"".join((head, digest, middle, signature, tail))


def is_plain(settings: PdfCMSSignedAttributes | None) -> bool:
    """Return True for signed-attribute settings that add nothing per signature (but the time)."""
    # PAdES puts the signing time in the signature dictionary, not in the container; outside
    # PAdES it is a signed attribute, which ``cms_template`` then refuses.
    if settings is None:
        return True
    return all(
        getattr(settings, spec.name) is None
        for spec in dataclasses.fields(settings)
        if spec.name != "signing_time"
    )


def cms_template(signed: cms.ContentInfo, digest: bytes) -> CmsTemplate | None:
    """Return the template of a container pyHanko made, or None when it varies otherwise."""
    # Only containers whose signed attributes are all fixed for the seal qualify, and only when
    # the digest and the signature each occur exactly once, so the cut is unambiguous. What is
    # signed is the signed attributes' DER under the SET OF tag (RFC 5652, 5.4), not [0].
    info = signed["content"]["signer_infos"]
    attributes = info[0]["signed_attrs"] if len(info) == 1 else []
    types = {attribute["type"].native for attribute in attributes}
    if not attributes or not types <= TEMPLATE_ATTRIBUTES or info[0]["unsigned_attrs"]:
        return None
    to_sign = b"\x31" + attributes.dump()[1:]
    signature = info[0]["signature"].native
    whole = signed.dump()
    if to_sign.count(digest) != 1 or whole.count(digest) != 1 or whole.count(signature) != 1:
        return None
    head, rest = whole.split(digest)
    if signature not in rest:
        return None  # the layout assumed: the digest (signed attributes) before the signature
    middle, tail = rest.split(signature)
    return CmsTemplate(
        len(digest), len(signature), tuple(to_sign.split(digest)), (head, middle, tail)
    )


def container_size(signer: signers.Signer) -> int:
    """Return the bytes every PDF reserves for the seal's CMS container, as pyHanko sizes it."""
    # The same estimate pyHanko makes before each signature (a dry-run container, hex-encoded,
    # plus its 50 % margin), made once: the container's size depends on the certificate, the
    # key and the signed attributes, never on the PDF.
    digest = hashes.Hash(get_pyca_cryptography_hash(DIGEST)).finalize()
    attributes = PdfCMSSignedAttributes(signing_time=dt.datetime.now(dt.UTC))
    dry = signer.async_sign(
        digest, DIGEST, use_pades=True, dry_run=True, signed_attr_settings=attributes
    )
    size = len(asyncio.run(dry).dump()) * 2
    return size + 2 * (size // 4)


def _open_pkcs12(path: Path, data: bytes, password: str):
    """Return the private key and certificate inside a PKCS#12 file."""
    try:
        key, certificate, _chain = pkcs12.load_key_and_certificates(data, password.encode())
    except ValueError as exc:
        if is_pkcs12(data):
            raise SealError(
                f"{path}: wrong password for the seal certificate; check {PASSWORD_ENV}"
            ) from exc
        raise SealError(f"{path}: not a PKCS#12 (.p12/.pfx) file; {MISSING_CERT_FIX}") from exc
    if key is None:
        raise SealError(f"{path}: the PKCS#12 file holds no private key; export it with the key")
    if certificate is None:
        raise SealError(f"{path}: the PKCS#12 file holds no certificate; export it with one")
    return key, certificate


def is_pkcs12(data: bytes) -> bool:
    """Return True when ``data`` is structurally a PKCS#12 archive (whatever its password)."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return pfx["auth_safe"]["content_type"].native in {"data", "signed_data"}
    except (ValueError, TypeError, KeyError):
        return False


def _check_usable(path: Path, key, certificate: x509.Certificate) -> None:
    """Raise ``SealError`` unless key and certificate belong together and may sign today."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != certificate.public_key().public_bytes(der, spki):
        raise SealError(f"{path}: the private key does not belong to the certificate")
    now = dt.datetime.now(dt.UTC)
    if now < certificate.not_valid_before_utc:
        raise SealError(
            f"{path}: the certificate is valid only from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d}"
        )
    if now > certificate.not_valid_after_utc:
        raise SealError(
            f"{path}: the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}; "
            "renew the organisation's seal"
        )
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SealError(
            f"{path}: the certificate may not sign (key usage lacks digitalSignature and "
            "nonRepudiation); use a seal certificate"
        )


# --- attachments and metadata ------------------------------------------------------------------


def prepare_pdf(pdf: bytes, info: PdfInfo, attachments: list[Attachment]) -> bytes:
    """Return ``pdf`` with metadata (Info and XMP) and ``attachments`` embedded, ready to seal."""
    writer = _unsigned_writer(pdf, attachments)
    _add_contents(writer, info, attachments)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def seal_minutes(
    pdf: bytes,
    info: PdfInfo,
    attachments: list[Attachment],
    seal: Seal,
    *,
    reason: str,
    location: str = "",
) -> bytes:
    """Return ``pdf`` with metadata and ``attachments``, sealed: one incremental update."""
    # The same result as seal_pdf(prepare_pdf(...)) in one pass: the seal covers the whole file.
    writer = _unsigned_writer(pdf, attachments)
    _add_contents(writer, info, attachments)
    return _sign(writer, seal, reason=reason, location=location)


def _unsigned_writer(pdf: bytes, attachments: list[Attachment]) -> IncrementalPdfFileWriter:
    """Return a writer over an unsigned, unencrypted PDF, or raise ``SealError``."""
    _check_attachment_names(attachments)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        if writer.prev.encrypted:
            raise SealError("the minutes PDF is encrypted; render it again without a password")
        signed = writer.prev.embedded_signatures
    except SealError:
        raise
    except Exception as exc:  # pyHanko raises many kinds for a broken file
        raise SealError(
            f"the minutes PDF cannot be read ({plain_reason(exc)}); render it again"
        ) from exc
    if signed:
        raise SealError("the minutes PDF is already signed; adding attachments would break it")
    return writer


def _check_attachment_names(attachments: list[Attachment]) -> None:
    """Raise ``SealError`` for empty or repeated attachment names."""
    seen: set[str] = set()
    for attachment in attachments:
        if not attachment.name.strip():
            raise SealError("an attachment has an empty name; give every attachment a file name")
        if attachment.name in seen:
            raise SealError(f"attachment {attachment.name!r} appears twice; names must be unique")
        seen.add(attachment.name)


def _add_contents(
    writer: IncrementalPdfFileWriter, info: PdfInfo, attachments: list[Attachment]
) -> None:
    """Write the metadata and embed the attachments (PDF/A-3 associated files) in ``writer``."""
    try:
        _set_info(writer, info)
        files = [_embed(writer, attachment) for attachment in attachments]
        if files:
            _name_files(writer, files)
            _add_associated_files(writer, [reference for _, reference in files])
        packet = _updated_xmp(_current_xmp(writer), info, has_attachments=bool(files))
        _set_xmp(writer, packet)
    except SealError:
        raise
    except Exception as exc:  # a structure pyHanko cannot follow (broken catalog, names)
        raise SealError(
            f"the minutes PDF cannot be read ({plain_reason(exc)}); render it again"
        ) from exc


def _info_dict(info: PdfInfo) -> dict[str, str]:
    """Return the Info dictionary entries for ``info`` (empty values left out)."""
    entries = {
        "/Title": info.title,
        "/Author": info.author,
        "/Subject": info.subject,
        "/Keywords": ", ".join(info.keywords),
    }
    return {key: value for key, value in entries.items() if value}


def _set_info(writer: IncrementalPdfFileWriter, info: PdfInfo) -> None:
    """Write title, author, subject and keywords into the document's Info dictionary."""
    entries = {
        generic.NameObject(key): generic.TextStringObject(value)
        for key, value in _info_dict(info).items()
    }
    try:
        reference = writer.trailer.raw_get("/Info")
    except KeyError:
        writer.set_info(generic.DictionaryObject(entries))
        return
    dictionary = reference.get_object()
    dictionary.update(entries)
    writer.mark_update(reference)


def _embed(
    writer: IncrementalPdfFileWriter, attachment: Attachment
) -> tuple[str, generic.IndirectObject]:
    """Return the name and file specification of ``attachment`` after embedding it."""
    stream = EmbeddedFileObject(
        writer,
        stream_data=attachment.data,
        params=EmbeddedFileParams(  # /Size and the MD5 /CheckSum the PDF spec asks for
            modification_date=dt.datetime.now(dt.UTC).replace(microsecond=0)
        ),
        mime_type=attachment.mime_type,
    )
    spec = FileSpec(
        file_spec_string=attachment.name,
        file_name=attachment.name,  # /F and /UF
        embedded_data=stream,
        description=attachment.description or None,
        af_relationship=generic.NameObject(_relationship(attachment)),
    )
    return attachment.name, writer.add_object(spec.as_pdf_object())


def _relationship(attachment: Attachment) -> str:
    """Return the PDF/A-3 AFRelationship: answers are /Data, returned documents /Source."""
    return "/Data" if attachment.mime_type == "application/json" else "/Source"


def _name_files(writer: IncrementalPdfFileWriter, files: list) -> None:
    """Add the file specifications to the catalog's /EmbeddedFiles name tree, sorted by name."""
    root = writer.root
    names = _entry(root, "/Names")
    if names is None:
        names = generic.DictionaryObject()
        root["/Names"] = names
    tree = _entry(names, "/EmbeddedFiles")
    entries = []
    if tree is not None:
        if "/Kids" in tree:
            raise SealError(
                "the minutes PDF already holds attachments in a nested list; render it again"
            )
        old = _entry(tree, "/Names") or []
        entries = [(str(old[n]), old.raw_get(n + 1)) for n in range(0, len(old), 2)]
    entries += files
    flat = generic.ArrayObject()
    for name, reference in sorted(entries, key=lambda entry: entry[0]):
        flat += [generic.TextStringObject(name), reference]
    names["/EmbeddedFiles"] = writer.add_object(generic.DictionaryObject({"/Names": flat}))
    if isinstance(root.raw_get("/Names"), generic.IndirectObject):
        writer.update_container(names)
    writer.update_root()


def _add_associated_files(writer: IncrementalPdfFileWriter, files: list) -> None:
    """Add the embedded files to the catalog's /AF array (required by PDF/A-3)."""
    root = writer.root
    existing = _entry(root, "/AF")
    af = generic.ArrayObject(list(existing) if existing is not None else [])
    af.extend(files)
    root["/AF"] = af
    writer.update_root()


def _entry(dictionary: generic.DictionaryObject, key: str):
    """Return the (dereferenced) value of ``key`` in a PDF dictionary, or None."""
    # pyHanko's ``get`` returns references as they are; indexing follows them.
    return dictionary[key] if key in dictionary else None  # noqa: SIM401


def _current_xmp(writer: IncrementalPdfFileWriter) -> bytes:
    """Return the document's XMP packet, or an empty one."""
    try:
        metadata = _entry(writer.root, "/Metadata")
        if metadata is None:
            return EMPTY_XMP
        return metadata.data
    except Exception:  # unreadable stream: start over rather than fail the seal
        log.warning("the XMP metadata of the minutes PDF was unreadable and was replaced")
        return EMPTY_XMP


def _updated_xmp(packet: bytes, info: PdfInfo, *, has_attachments: bool) -> bytes:
    """Return ``packet`` with title, author, subject and keywords replaced by ``info``."""
    tree = _xmp_tree(packet)
    rdf = tree.getroot() if tree.getroot().tag == f"{{{RDF}}}RDF" else tree.find(f".//{{{RDF}}}RDF")
    if rdf is None:
        tree = _xmp_tree(EMPTY_XMP)
        rdf = tree.find(f".//{{{RDF}}}RDF")
    descriptions = list(rdf.iter(f"{{{RDF}}}Description"))
    for description in descriptions:
        _drop_properties(description, MANAGED_XMP)
    if has_attachments:
        _claim_pdfa_with_attachments(descriptions)
    rdf.append(_description(info))
    return etree.tostring(tree, encoding="utf-8", xml_declaration=False)


def _xmp_tree(packet: bytes) -> etree._ElementTree:
    """Return the XMP packet parsed safely (no DTD, entities or network), or an empty one."""
    # A packet that declares a DTD or is not XML is replaced, never carried into the sealed PDF.
    try:
        root = parse_xml(packet, "the XMP metadata of the minutes PDF")
    except Rejected:
        log.warning("the XMP metadata of the minutes PDF was unreadable and was replaced")
        root = parse_xml(EMPTY_XMP, "the empty XMP packet")
    return etree.ElementTree(root)


def _drop_properties(description, names: set[str]) -> None:
    """Remove the XMP properties ``names`` (elements or attributes) from one rdf:Description."""
    for child in list(description):
        if child.tag in names:
            description.remove(child)
    for attribute in list(description.attrib):
        if attribute in names:
            del description.attrib[attribute]


def _claim_pdfa_with_attachments(descriptions: list) -> None:
    """Keep the PDF/A claim honest with embedded files: PDF/A-2 becomes 3, PDF/A-1 is dropped."""
    part_name = f"{{{PDFAID}}}part"
    for description in descriptions:
        part = description.find(part_name)
        value = part.text if part is not None else description.get(part_name)
        if value is None:
            continue
        value = value.strip()
        if value == "2":
            if part is not None:
                part.text = "3"
            else:
                description.set(part_name, "3")
            log.info("PDF/A-2 minutes with attachments are now declared PDF/A-3")
        elif value == "1":
            _drop_properties(description, {part_name, f"{{{PDFAID}}}conformance"})
            log.warning("PDF/A-1 does not allow attachments; the PDF/A claim was removed")


def _description(info: PdfInfo):
    """Return an rdf:Description holding title, author, subject and keywords (dc: and pdf:)."""
    description = etree.Element(
        f"{{{RDF}}}Description", nsmap={"rdf": RDF, "dc": DC, "pdf": PDF_NS}
    )
    description.set(f"{{{RDF}}}about", "")
    if info.title:
        _xmp_list(description, f"{{{DC}}}title", "Alt", [info.title])
    if info.author:
        _xmp_list(description, f"{{{DC}}}creator", "Seq", [info.author])
    if info.subject:
        _xmp_list(description, f"{{{DC}}}description", "Alt", [info.subject])
    if info.keywords:
        _xmp_list(description, f"{{{DC}}}subject", "Bag", info.keywords)
        etree.SubElement(description, f"{{{PDF_NS}}}Keywords").text = ", ".join(info.keywords)
    return description


def _xmp_list(parent, tag: str, kind: str, values: list[str]) -> None:
    """Append an XMP array property (rdf:Alt gets ``xml:lang="x-default"``)."""
    container = etree.SubElement(etree.SubElement(parent, tag), f"{{{RDF}}}{kind}")
    for value in values:
        item = etree.SubElement(container, f"{{{RDF}}}li")
        if kind == "Alt":
            item.set(XML_LANG, "x-default")
        item.text = value


def _set_xmp(writer: IncrementalPdfFileWriter, packet: bytes) -> None:
    """Store ``packet`` as the catalog's uncompressed /Metadata stream."""
    # pyHanko keeps an XMP stream of this class up to date (producer, modification date) when
    # it writes; Info /Producer is aligned with it when sealing (PDF/A wants both to agree).
    writer.root["/Metadata"] = writer.add_object(MetadataStream(stream_data=packet))
    writer.update_root()


def attachments_of(pdf: bytes) -> dict[str, bytes]:
    """Return the embedded files of ``pdf`` by name."""
    try:
        reader = PdfReader(io.BytesIO(pdf))
        entries = [(entry.name, entry.content) for entry in reader.attachment_list]
    except Exception as exc:  # pypdf raises many kinds for a broken file
        raise VerifyError(
            f"the attachments of the PDF cannot be read ({plain_reason(exc)}); {RESTORE}"
        ) from exc
    found: dict[str, bytes] = {}
    for name, data in entries:
        if name in found:
            raise VerifyError(f"the PDF holds two attachments named {name!r}")
        found[name] = data
    return found


# --- sealing and checking ----------------------------------------------------------------------


def seal_pdf(
    pdf: bytes, seal: Seal, *, reason: str, location: str = "", field_name: str = "Seal"
) -> bytes:
    """Return ``pdf`` sealed (PAdES B-B, ETSI.CAdES.detached, SHA-256), locked against changes."""
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        if writer.prev.embedded_signatures:
            raise SealError("the PDF is already sealed; seal the unsealed minutes instead")
    except SealError:
        raise
    except Exception as exc:  # pyHanko raises many kinds for a broken file
        raise SealError(
            f"the PDF could not be sealed ({plain_reason(exc)}); check the seal certificate and "
            "run finalize again ('samtale --traceback finalize' shows the details)"
        ) from exc
    return _sign(writer, seal, reason=reason, location=location, field_name=field_name)


def _sign(
    writer: IncrementalPdfFileWriter,
    seal: Seal,
    *,
    reason: str,
    location: str = "",
    field_name: str = "Seal",
) -> bytes:
    """Return the PDF in ``writer`` sealed, with whatever it added in the same update."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=DIGEST,
        subfilter=SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
    )
    try:
        _align_producer(writer)
        signer = signers.PdfSigner(meta, signer=seal.signer)
        out = signer.sign_pdf(writer, bytes_reserved=seal.container_size)
    except Exception as exc:  # pyHanko raises many kinds for a broken file or signer
        raise SealError(
            f"the PDF could not be sealed ({plain_reason(exc)}); check the seal certificate and "
            "run finalize again ('samtale --traceback finalize' shows the details)"
        ) from exc
    return out.getvalue()


def _align_producer(writer: IncrementalPdfFileWriter) -> None:
    """Set Info /Producer to what pyHanko writes to XMP, so both agree (PDF/A requires it)."""
    # pyHanko appends its name to Info /Producer but replaces XMP pdf:Producer; an Info value that
    # already equals pyHanko's is left alone, and XMP then says the same.
    try:
        info_ref = writer.trailer.raw_get("/Info")
    except KeyError:
        return
    info = info_ref.get_object()
    info[generic.NameObject("/Producer")] = generic.TextStringObject(PYHANKO_VENDOR)
    writer.mark_update(info_ref)


def check_seal(pdf: bytes, *, expected_certificate_sha256: str | None = None) -> SealCheck:
    """Return what holds for the seal of ``pdf``; never raises for a bad PDF."""
    try:
        signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    except Exception as exc:  # a broken file is a finding, not a crash
        log.debug("the PDF cannot be parsed", exc_info=exc)
        return _failed(f"the file is not a readable PDF (damaged, cut short, replaced); {RESTORE}")
    if not signatures:
        return _failed("the PDF has no seal (no signature found)")
    signature = signatures[0]
    problems = []
    if len(signatures) > 1:
        problems.append(f"the PDF has {len(signatures)} signatures; a sealed file has exactly one")
    try:
        certificate = signature.signer_cert
        fingerprint = hashlib.sha256(certificate.dump()).hexdigest()
        subject = certificate.subject.human_friendly
        signed_at = signature.self_reported_timestamp
    except Exception as exc:  # malformed CMS
        log.debug("the seal's signature data cannot be read", exc_info=exc)
        return _failed(f"the seal's signature data is damaged; {RESTORE}")
    subfilter = str(signature.sig_object.get("/SubFilter", ""))
    if subfilter != SUBFILTER:
        problems.append(f"the seal is {subfilter or 'untyped'}, not a PAdES seal ({SUBFILTER})")
    if expected_certificate_sha256 is not None and (
        fingerprint != expected_certificate_sha256.lower().replace(":", "")
    ):
        problems.append(
            f"sealed with another certificate ({subject}, SHA-256 {fingerprint[:16]}…) "
            f"than the configured one (SHA-256 {expected_certificate_sha256[:16]}…)"
        )
    intact, whole = _validate(signature, certificate, signed_at, problems)
    return SealCheck(
        ok=not problems,
        intact=intact,
        covers_whole_file=whole,
        certificate_sha256=fingerprint,
        subject=subject,
        signed_at=signed_at.isoformat() if signed_at else "",
        problems=problems,
    )


def _validate(signature, certificate, signed_at, problems: list[str]) -> tuple[bool, bool]:
    """Return (intact, covers whole file) for ``signature``; what is wrong goes to ``problems``."""
    context = ValidationContext(
        trust_roots=[certificate],  # trust is decided by the fingerprint, not by a CA
        allow_fetching=False,
        moment=signed_at,
        revocation_mode="soft-fail",
    )
    usage = KeyUsageConstraints(key_usage=SEAL_KEY_USAGES, match_all_key_usages=False)
    try:
        status = validate_pdf_signature(
            signature, context, key_usage_settings=usage, skip_diff=True
        )
    except Exception as exc:  # pyHanko refuses some malformed signatures outright
        log.debug("the seal cannot be validated", exc_info=exc)
        problems.append(f"the seal cannot be checked: its signature is damaged; {RESTORE}")
        return False, False
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if not status.intact:
        problems.append("the sealed content was modified after sealing (digest mismatch)")
    elif not status.valid:
        problems.append("the seal's signature value does not match its certificate")
    if not whole:
        problems.append(
            "the seal does not cover the whole file: something was appended after sealing "
            "(an incremental update)"
        )
    if status.intact and status.valid and not status.trusted:
        problems.append(
            "the certificate was not usable for sealing at signing time "
            f"({status.trust_problem_indic})"
        )
    return status.intact, whole


def _failed(problem: str) -> SealCheck:
    """Return a failed check that found nothing but ``problem``."""
    return SealCheck(
        ok=False,
        intact=False,
        covers_whole_file=False,
        certificate_sha256="",
        subject="",
        signed_at="",
        problems=[problem],
    )
