"""The seal's public certificate: where it lives beside the PKCS#12 file, and its fingerprint."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from pipeline.errors import SealError, VerifyError
from pipeline.formats.seal import Seal, is_pkcs12
from pipeline.state.files import write_private

CERTIFICATE_SUFFIX = ".crt"

STALE_CERT_FIX = (
    "if the seal certificate was renewed, move the old .crt aside (keep it to check older "
    "archives with `verify`); otherwise set [seal] certificate back to the certificate it holds"
)

CERT_OPTION_FIX = "pass --cert path/to/seal.crt (the seal's public certificate, PEM or DER)"


def public_certificate_path(p12_path: Path) -> Path:
    """Return where the public certificate of a PKCS#12 seal lives: ``seal.p12`` → ``seal.crt``."""
    return Path(p12_path).with_suffix(CERTIFICATE_SUFFIX)


def write_public_certificate(seal: Seal, p12_path: Path) -> Path:
    """Return the ``.crt`` beside ``p12_path`` after writing the seal's certificate when missing."""
    # An existing ``.crt`` holding another certificate raises ``SealError``: ``verify`` would
    # otherwise reject every PDF sealed from now on, or accept a certificate no longer configured.
    path = public_certificate_path(p12_path)
    der = seal.signer.signing_cert.dump()
    if path.exists():
        found = certificate_sha256(path)
        if found != seal.certificate_sha256:
            raise SealError(
                f"{path} holds another certificate (SHA-256 {found[:16]}…) than the seal "
                f"{p12_path} (SHA-256 {seal.certificate_sha256[:16]}…); {STALE_CERT_FIX}"
            )
        return path
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    return write_private(path, pem)


def certificate_sha256(path: Path) -> str:
    """Return the SHA-256 fingerprint of the certificate in a PEM or DER file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SealError(f"{path}: cannot read the public certificate ({exc.strerror})") from exc
    fingerprint = fingerprint_of(data)
    if fingerprint is None:
        raise SealError(
            f"{path}: not a certificate (PEM or DER); delete it and run finalize again to "
            "write it from the seal"
        )
    return fingerprint


def fingerprint_of(data: bytes) -> str | None:
    """Return the SHA-256 fingerprint of a PEM or DER certificate, or None if it is not one."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            certificate = x509.load_pem_x509_certificate(data)
        else:
            certificate = x509.load_der_x509_certificate(data)
    except ValueError:
        return None
    return certificate.fingerprint(hashes.SHA256()).hex()


def resolve_certificate_sha256(path: Path) -> str:
    """Return the fingerprint of the seal certificate at ``path``; raise ``VerifyError``."""
    # A PEM or DER certificate is read directly; a PKCS#12 seal (its certificate is behind its
    # password) stands for the public certificate ``<seal>.crt`` beside it.
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as exc:
        raise VerifyError(
            f"{path}: cannot read the seal certificate ({exc.strerror}). Fix: make it "
            f"readable, or {CERT_OPTION_FIX}"
        ) from exc
    if data is not None:
        fingerprint = fingerprint_of(data)
        if fingerprint is not None:
            return fingerprint
        if not is_pkcs12(data):
            raise VerifyError(
                f"{path}: neither a certificate (PEM or DER) nor a PKCS#12 seal. Fix: "
                f"{CERT_OPTION_FIX}"
            )
    crt = public_certificate_path(path)
    if crt != path and crt.is_file():
        try:
            return certificate_sha256(crt)
        except SealError as exc:
            raise VerifyError(f"{exc}, or {CERT_OPTION_FIX}") from exc
    raise unresolved(path, crt, found=data is not None)


def unresolved(path: Path, crt: Path, *, found: bool) -> VerifyError:
    """Return the error for a seal certificate that cannot be resolved, with the fix."""
    if found:
        return VerifyError(
            f"{path}: this PKCS#12 seal has no public certificate {crt.name} beside it, so "
            "verify cannot tell which certificate the PDFs must carry. Fix: export the public "
            f"certificate as {crt.name} (finalize writes it when it seals), or {CERT_OPTION_FIX}"
        )
    nor = f", nor its public certificate {crt.name}" if crt != path else ""
    return VerifyError(
        f"{path}: the seal certificate is not there{nor}. Fix: correct the path, or export the "
        f"public certificate as {crt.name}, or {CERT_OPTION_FIX}"
    )
