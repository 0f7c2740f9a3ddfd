"""The errors of fetching and extracting data sets, shared by ``download`` and ``archive``."""

from __future__ import annotations

__all__ = ["DownloadError", "ChecksumError", "ArchiveError"]


class DownloadError(RuntimeError):
    """Data could not be fetched or extracted; the message says why and what to do."""


class ChecksumError(DownloadError):
    """Fetched data does not have the expected size or digest."""


class ArchiveError(DownloadError):
    """An archive is corrupt, truncated, or holds members that could write outside its folder."""
