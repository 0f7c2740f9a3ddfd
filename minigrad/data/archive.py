"""Safe extraction of .tar(.gz, .bz2, .xz) and .zip archives: nothing may land outside the destination.

Every member is checked before anything is written: absolute paths, ``..`` components, device files
and fifos, links pointing outside, and members written through a link are refused with
``ArchiveError``. Extraction goes to a temporary folder, renamed into place when complete.
"""

from __future__ import annotations

import gzip
import os
import secrets
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from .errors import ArchiveError

__all__ = ["ARCHIVE_SUFFIXES", "archive_stem", "extract"]

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip")
_CORRUPT_ARCHIVE = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile)
_TAR_FILTER: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def archive_stem(filename: str) -> str | None:
    """``filename`` without its archive suffix, or None if it is not an archive."""
    lower = filename.lower()
    return next((filename[: -len(s)] for s in ARCHIVE_SUFFIXES if lower.endswith(s)), None)


def extract(archive: Path, target: Path, hint: str) -> None:
    """Extract ``archive`` to ``target`` via a temporary sibling folder, renamed when complete.

    The folder holds the contents of the archive's single top-level folder (or all of it when it has
    several entries). A ``target`` already there is replaced only once the new one is complete. A
    corrupt archive is an ``ArchiveError`` ending with `hint` (what to do about it).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}.part-{secrets.token_hex(4)}")
    staging.mkdir()
    try:
        try:
            if archive.name.lower().endswith(".zip"):
                _unzip(archive, staging)
            else:
                _untar(archive, staging)
        except _CORRUPT_ARCHIVE as exc:
            raise ArchiveError(f"{archive} is corrupt or truncated: {exc}; {hint}") from exc
        _replace_folder(_single_folder(staging), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _single_folder(folder: Path) -> Path:
    """The only entry of ``folder`` if it is a folder (the archive's top folder), else ``folder``.

    Whatever that folder is called in the archive, it is renamed after the archive.
    """
    entries = list(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return folder


def _replace_folder(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``; an existing ``target`` is moved aside, then removed."""
    if not target.exists():
        os.replace(new, target)
        return
    old = target.with_name(f"{target.name}.old-{secrets.token_hex(4)}")
    os.replace(target, old)
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _untar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        _check_tar_members(members)
        tar.extractall(dest, members=members, **_TAR_FILTER)


def _unzip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            _member_parts(name)
        zf.extractall(dest)


def _posix(name: str) -> PurePosixPath:
    """A path stored in an archive, with '\\' taken as a separator too."""
    return PurePosixPath(name.replace("\\", "/"))


def _member_parts(name: str) -> tuple[str, ...]:
    """The components of an archive member's name; refuses absolute paths and '..'."""
    path = _posix(name)
    if path.is_absolute() or PureWindowsPath(name).drive or ".." in path.parts:
        raise ArchiveError(f"refusing archive member {name!r}: absolute path or '..' component")
    return path.parts


def _check_tar_members(members: list[tarfile.TarInfo]) -> None:
    """Refuse any member that could create or change something outside the destination.

    Besides absolute and '..' names and device files: nothing may be written at or below a symbolic
    link of the archive, a symbolic link must point inside the destination without passing through
    another link, and a hard link must point to a regular file stored earlier in the archive.
    """
    symlinks = {_member_parts(m.name) for m in members if m.issym()}
    regular_files: set[tuple[str, ...]] = set()
    for member in members:
        parts = _member_parts(member.name)
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise ArchiveError(f"refusing archive member {member.name!r}: a device file or fifo")
        if not parts and not member.isdir():
            raise ArchiveError(f"refusing archive member {member.name!r}: it has no name")
        if any(parts[:i] in symlinks for i in range(1, len(parts))) or (parts in symlinks and not member.issym()):
            raise ArchiveError(f"refusing archive member {member.name!r}: it would be written through a symlink")
        if member.issym():
            _check_symlink(member, parts, symlinks)
        elif member.islnk() and _posix(member.linkname).parts not in regular_files:
            raise ArchiveError(
                f"refusing hard link {member.name!r} -> {member.linkname!r}: "
                "it does not point to a regular file stored before it"
            )
        elif member.isreg():
            regular_files.add(parts)


def _check_symlink(member: tarfile.TarInfo, parts: tuple[str, ...], symlinks: set[tuple[str, ...]]) -> None:
    refusal = f"refusing symbolic link {member.name!r} -> {member.linkname!r}"
    link = _posix(member.linkname)
    if link.is_absolute() or PureWindowsPath(member.linkname).drive:
        raise ArchiveError(f"{refusal}: absolute target")
    where = list(parts[:-1])
    for part in link.parts:
        if tuple(where) in symlinks:
            raise ArchiveError(f"{refusal}: its target passes through another symbolic link")
        if part != "..":
            where.append(part)
        elif where:
            where.pop()
        else:
            raise ArchiveError(f"{refusal}: it points outside the destination")
