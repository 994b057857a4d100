"""Defences for reading untrusted files: size limits, zip bombs, XML entity expansion."""

from __future__ import annotations

import io
import zipfile
import zlib

from mineaction.errors import ValidationError

#: Largest upload or file read (bytes).
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Largest total uncompressed size of an archive, and most members.
MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
MAX_MEMBERS = 10_000
#: Highest compression ratio tolerated for a member larger than 1 MB (zip bombs reach 1000+).
MAX_RATIO = 200


def check_size(data: bytes, where: str) -> None:
    """Refuse empty or oversized input."""
    if not data:
        raise ValidationError("the file is empty", where=where)
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(
            f"the file is {len(data) / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB "
            "(split the export)",
            where=where,
        )


def open_zip(data: bytes, where: str) -> zipfile.ZipFile:
    """Open a zip archive after checking it is complete and not a zip bomb.

    The declared sizes are checked first; :func:`read_member` also stops reading a member
    that inflates beyond its declared size, so a lying header does not help.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ValidationError(
            f"not a readable zip archive ({exc}); is the file truncated?", where=where
        ) from None
    if len(infos) > MAX_MEMBERS:
        raise ValidationError(f"the archive has more than {MAX_MEMBERS} files", where=where)
    total = 0
    for info in infos:
        if info.filename.startswith("/") or ".." in info.filename.split("/"):
            raise ValidationError(f"unsafe path in archive: {info.filename!r}", where=where)
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1_000_000 and ratio > MAX_RATIO:
            raise ValidationError(
                f"{info.filename!r} expands {ratio:.0f} times (a zip bomb?); refused", where=where
            )
    if total > MAX_UNZIPPED_BYTES:
        raise ValidationError(
            f"the archive expands to {total / 1e6:.0f} MB; the limit is "
            f"{MAX_UNZIPPED_BYTES / 1e6:.0f} MB",
            where=where,
        )
    return zf


def read_member(zf: zipfile.ZipFile, name: str, where: str) -> bytes:
    """Read one archive member, refusing one that inflates past its declared size."""
    info = zf.getinfo(name)
    limit = info.file_size
    try:
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise ValidationError(
            f"cannot read {name!r} from the archive ({exc}); is it truncated?", where=where
        ) from None
    if len(data) > limit:
        raise ValidationError(f"{name!r} is larger than its declared size; refused", where=where)
    return data


def check_xml(data: bytes, where: str) -> None:
    """Refuse XML with a DTD or entity declarations (billion laughs, external entities)."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ValidationError(
            f"the XML declares a DTD or entities ({type(exc).__name__}); refused as unsafe",
            where=where,
        ) from None
    except Exception as exc:  # ParseError and friends: truncated or not XML
        raise ValidationError(
            f"not well-formed XML ({exc}); is it truncated?", where=where
        ) from None
