"""Exports that come packed: a ZIP archive of files (a CSV per day, per table, an xlsx) or one gzip-compressed
file, downloaded as an attachment (`rest.archive`). Unpacked in memory only, never to disk, and safely: at most
MAX_MEMBERS files, UNPACKED_LIMIT bytes in all (counted as they inflate, not as the archive claims), no member
whose name climbs out (`../`, an absolute path, a drive), no encrypted member."""

from __future__ import annotations

import fnmatch
import io
import posixpath
import zipfile
import zlib

from connectors.errors import RefusedAnswer
from connectors.spec.rest import ArchiveSpec

# As much as any answer may unpack to (connectors.rows' cap for a spreadsheet's XML): past it, a zip bomb.
UNPACKED_LIMIT = 64 * 1024 * 1024
MAX_MEMBERS = 1000
_CHUNK = 64 * 1024


def unpack(source: str, body: bytes, spec: ArchiveSpec) -> list[tuple[str, bytes]]:
    """The files the answer packs, each (name, bytes), in the archive's order: a ZIP's members whose base name
    matches `members`, or the one file a gzip answer is. RefusedAnswer for what is no such archive, or would
    unpack past the caps, or names a member outside itself."""
    if spec.format == "gzip":
        return [("", _gunzip(source, body))]
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
        entries = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise _refused(source, body, f"answer is not a ZIP archive ({exc})") from None
    if len(entries) > MAX_MEMBERS:
        raise _refused(
            source, body, f"the ZIP archive holds {len(entries)} files, over the cap of {MAX_MEMBERS}"
        )
    files: list[tuple[str, bytes]] = []
    left = UNPACKED_LIMIT
    for entry in entries:
        name = entry.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or ":" in name.split("/")[0]:
            raise _refused(source, body, f"the ZIP archive names a file outside itself: {entry.filename!r}")
        if not fnmatch.fnmatchcase(posixpath.basename(name).lower(), spec.members.lower()):
            continue
        if entry.flag_bits & 0x1:
            raise _refused(source, body, f"the ZIP archive's file {entry.filename!r} is encrypted")
        out = bytearray()
        try:
            with archive.open(entry) as stream:
                while chunk := stream.read(min(_CHUNK, left + 1)):
                    out += chunk
                    if len(out) > left:
                        raise _refused(source, body, _over(len(body)))
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise _refused(
                source, body, f"the ZIP archive's file {entry.filename!r} is unreadable ({exc})"
            ) from None
        left -= len(out)
        files.append((name, bytes(out)))
    return files


def _gunzip(source: str, body: bytes) -> bytes:
    """One gzip file (its members one after another, as `cat a.gz b.gz` writes them), at most UNPACKED_LIMIT."""
    out = bytearray()
    data = body
    while data:
        inflate = zlib.decompressobj(wbits=31)
        try:
            while data:
                out += inflate.decompress(data, UNPACKED_LIMIT + 1 - len(out))
                if len(out) > UNPACKED_LIMIT:
                    raise _refused(source, body, _over(len(body)))
                data = inflate.unconsumed_tail
                if inflate.eof:
                    break
        except zlib.error as exc:
            raise _refused(source, body, f"answer is not gzip-compressed ({exc})") from None
        if not inflate.eof:
            raise _refused(source, body, "answer is not gzip-compressed (the stream is cut short)")
        data = inflate.unused_data.lstrip(b"\0")  # padding after the last member
    return bytes(out)


def _over(size: int) -> str:
    return f"answer of {size} bytes unpacks to over the {UNPACKED_LIMIT}-byte cap"


def _refused(source: str, body: bytes, message: str) -> RefusedAnswer:
    return RefusedAnswer(source, message, excerpt=body[:64])
