"""A self-signed DEMO seal for ``make demo`` and the tests; never a real organisation's seal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from pipeline.errors import SealError, WorkspaceError
from pipeline.formats.seal import NO_PASSWORD_FIX
from pipeline.state.files import write_private

DEMO_CERT_NAME = "DEMO – not a real seal"

NAME_LIMIT = 64  # X.520 upper bound for CN and O, in UTF-8 bytes as cryptography counts


def create_demo_certificate(
    path: Path, password: str, organisation: str, *, days: int = 3650
) -> Path:
    """Return ``path`` after writing a self-signed demo seal (RSA-3072) there as PKCS#12, 0600."""
    path = Path(path)
    if path.exists():
        raise SealError(f"{path} already exists; refusing to overwrite a seal certificate")
    if not password:
        raise SealError(f"{path}: the demo certificate needs a password; {NO_PASSWORD_FIX}")
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    certificate = _self_signed(key, _demo_subject(organisation), days)
    data = pkcs12.serialize_key_and_certificates(
        name=DEMO_CERT_NAME.encode(),
        key=key,
        cert=certificate,
        cas=None,
        encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
    )
    try:
        return write_private(path, data)
    except WorkspaceError as exc:
        raise SealError(f"{path} already exists; refusing to overwrite a seal certificate") from exc


def _demo_subject(organisation: str) -> x509.Name:
    """Return a subject whose CN and O both say this is a demo seal."""
    organisation = organisation.strip() or "Organisasjonen"
    common_name = _fit(organisation, " – DEMO seal (not valid)")
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(
                NameOID.ORGANIZATION_NAME, _fit(organisation, f" ({DEMO_CERT_NAME})")
            ),
        ]
    )


def _fit(name: str, suffix: str) -> str:
    """Return ``name + suffix``, shortening ``name`` so the whole fits X.520's 64 UTF-8 bytes."""
    while len((name + suffix).encode()) > NAME_LIMIT:
        name = name[:-1]
    return name.rstrip(" ,-–") + suffix


def _self_signed(key: rsa.RSAPrivateKey, subject: x509.Name, days: int) -> x509.Certificate:
    """Return a self-signed end-entity certificate for sealing (signature + non-repudiation)."""
    now = dt.datetime.now(dt.UTC)
    public_key = key.public_key()
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
