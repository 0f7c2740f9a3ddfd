"""Fetch data sets: mirrors, checksums, retries, atomic writes and a local cache (extraction: ``archive.py``).

- ``download_data(url_or_resource)`` fetches one file, or a ``ResourceSet`` of files to a folder.
- ``untar_data(url)`` fetches an archive and extracts it, returning the extracted folder.

Downloads are cached under ``$MINIGRAD_HOME`` (default ``~/.minigrad``): downloaded files in
``archive/``, extracted folders and file sets in ``data/``, each extracted folder keyed on the
archive it came from. To work offline, pass a local path or a ``file://`` URL, or set
``$MINIGRAD_DATA`` to a folder holding the archives, the extracted folders or the files.
Each attempt is bounded in time (``DEADLINE``; ``MIN_SPEED`` over ``STALL_WINDOW``) and shows its
progress on stderr, also when that is not a terminal (every ``PROGRESS_INTERVAL`` seconds).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import requests
import urllib3

from ..files import atomic_open
from ..progress import Progress, megabytes
from .archive import ARCHIVE_SUFFIXES, archive_stem, extract
from .errors import ArchiveError, ChecksumError, DownloadError

__all__ = [
    "ArchiveError",
    "ChecksumError",
    "DownloadError",
    "Resource",
    "ResourceSet",
    "URLs",
    "download_data",
    "untar_data",
]

# Settings, read at each download: change them here, e.g. ``minigrad.data.download.DEADLINE = 600``.
RETRIES = 3  # extra attempts per URL after a transient failure (a stall is one)
BACKOFF = 0.5  # seconds before the first retry, doubled before each next one
CONNECT_TIMEOUT = 10.0  # seconds to connect to a server
STALL_WINDOW = 30.0  # seconds: an attempt receiving under MIN_SPEED over this long (or nothing) has stalled
MIN_SPEED = 1_000  # bytes per second, averaged over STALL_WINDOW
DEADLINE = 1800.0  # seconds one attempt may take in all, however steadily the bytes come
PROGRESS_INTERVAL = 5.0  # seconds between progress lines when stderr is not a terminal
CHUNK_SIZE = 1 << 16

_CHECKSUM = re.compile(r"md5:[0-9a-fA-F]{32}|sha256:[0-9a-fA-F]{64}")
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,  # raised while reading the body (truncated, reset, timed out)
)


class _TransientError(Exception):
    """A failure worth retrying: connection error, timeout, truncated body or HTTP 5xx."""


def _parse_checksum(checksum: str) -> tuple[str, str]:
    """``"md5:<hex>"`` or ``"sha256:<hex>"`` as (algorithm, lower-case hex digest)."""
    if not isinstance(checksum, str) or not _CHECKSUM.fullmatch(checksum):
        raise ValueError(f"checksum must look like 'md5:<32 hex digits>' or 'sha256:<64 hex digits>', got {checksum!r}")
    algorithm, _, digest = checksum.partition(":")
    return algorithm, digest.lower()


@dataclass(frozen=True)
class Resource:
    """One file: its name, the URLs it can be fetched from (tried in order), and what it must match.

    ``urls`` may be a single URL. ``checksum`` is ``"md5:<hex>"`` or ``"sha256:<hex>"``; ``size``
    is in bytes; either may be None.
    """

    filename: str
    urls: tuple[str, ...]
    checksum: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        urls = (self.urls,) if isinstance(self.urls, str) else tuple(self.urls)
        object.__setattr__(self, "urls", urls)
        if not self.urls:
            raise ValueError(f"Resource {self.filename!r} needs at least one URL")
        if self.checksum is not None:
            _parse_checksum(self.checksum)

    @classmethod
    def from_url(cls, url: str) -> Resource:
        """The file at ``url``, with its published checksum and size when they are known."""
        checksum, size = _PUBLISHED.get(url, (None, None))
        return cls(_filename(url), (url,), checksum, size)


@dataclass(frozen=True)
class ResourceSet:
    """Files that belong together; ``download_data`` puts them in one folder called ``name``."""

    name: str
    resources: tuple[Resource, ...]


_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def _mnist_idx(filename: str, md5: str) -> Resource:
    return Resource(filename, tuple(mirror + filename for mirror in _MNIST_MIRRORS), f"md5:{md5}")


class URLs:
    """Where the data sets live."""

    MNIST_SAMPLE = "https://s3.amazonaws.com/fast-ai-sample/mnist_sample.tgz"
    MNIST_TINY = "https://s3.amazonaws.com/fast-ai-sample/mnist_tiny.tgz"
    MNIST = "https://s3.amazonaws.com/fast-ai-imageclas/mnist_png.tgz"
    MNIST_IDX = ResourceSet(
        "mnist",
        (
            _mnist_idx("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            _mnist_idx("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            _mnist_idx("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            _mnist_idx("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
        ),
    )


# Published checksums and sizes of the official downloads, checked when they come from the network.
_PUBLISHED: dict[str, tuple[str, int]] = {
    URLs.MNIST_SAMPLE: ("md5:2dbc7ec6f9259b583af0072c55816a88", 3_214_948),
    URLs.MNIST_TINY: ("md5:56143e8f24db90d925d82a5a74141875", 342_207),
    URLs.MNIST: ("md5:03639f83c4e3d19e0a3a53a8a997c487", 15_683_414),
}


def download_data(
    resource_or_url: Resource | ResourceSet | str | os.PathLike[str],
    dest: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    checksum: str | None = None,
) -> Path:
    """Fetch a file and return its path; for a ``ResourceSet``, return the folder holding its files.

    ``resource_or_url`` is a ``Resource``, an http(s) URL, a ``file://`` URL or a local path
    (returned as is). A single file goes to the folder ``dest`` (default
    ``$MINIGRAD_HOME/archive``); a ``ResourceSet`` to ``dest/<name>`` (default
    ``$MINIGRAD_HOME/data/<name>``). Unless ``force``, a copy in ``$MINIGRAD_DATA`` (for a set:
    in ``$MINIGRAD_DATA/<name>`` or ``$MINIGRAD_DATA``) or a cached download is used without
    touching the network. ``checksum`` (``"md5:<hex>"`` or ``"sha256:<hex>"``) overrides the
    published one; local copies are checked only against it.
    """
    if isinstance(resource_or_url, ResourceSet):
        if checksum is not None:
            raise ValueError("checksum= is for one file; each Resource of a ResourceSet has one")
        return _download_set(resource_or_url, dest, force)
    source = _choose(_resolve(resource_or_url, checksum), checksum, force)
    return _obtain(source, Path(dest) if dest else _home() / "archive", force, checksum)


def untar_data(
    url: Resource | str | os.PathLike[str],
    dest: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    checksum: str | None = None,
) -> Path:
    """Fetch an archive (.tgz, .tar.gz, .tar.bz2, .tar.xz, .tar, .zip); return its extracted folder.

    The folder is ``dest/<archive name>`` (default ``$MINIGRAD_HOME/data/<archive name>``, e.g.
    ``mnist_sample``), holding the contents of the archive's single top-level folder. An extracted
    folder found in ``$MINIGRAD_DATA`` is returned as is. One at the destination is returned when it
    was extracted from this archive: the same local file (path, size and modification time) or the
    same URLs and checksum, as recorded in ``.<archive name>.source.json`` beside it; otherwise the
    archive is extracted again. ``force=True`` ignores every cached copy, fetches and extracts
    again. An old folder is replaced only once the new one is complete. ``url`` and ``checksum``
    are as for ``download_data``.
    """
    source = _resolve(url, checksum)
    filename = source.name if isinstance(source, Path) else source.filename
    stem = archive_stem(filename)
    if stem is None:
        suffixes = ", ".join(ARCHIVE_SUFFIXES)
        raise ValueError(f"{filename!r} is not an archive; expected a name ending in {suffixes}")
    target = (Path(dest) if dest else _home() / "data") / stem
    local = _local_data()
    if not force and local is not None and (local / stem).is_dir():
        return local / stem
    source = _choose(source, checksum, force)
    identity = _identity(source)
    if not force and target.is_dir() and _recorded_source(target) == identity:
        if isinstance(source, Path):
            _checked_local(source, checksum)
        return target
    archive = _obtain(source, _home() / "archive", force, checksum)
    if isinstance(source, Resource):
        hint = "delete it or pass force=True to download it again"
    else:
        hint = "replace it with a good copy"
    _marker(target).unlink(missing_ok=True)
    extract(archive, target, hint)
    _record_source(target, identity)
    return target


# --- where things are --------------------------------------------------------------------------


def _home() -> Path:
    return Path(os.environ.get("MINIGRAD_HOME") or "~/.minigrad").expanduser()


def _local_data() -> Path | None:
    """The folder named by ``$MINIGRAD_DATA``, or None when it is unset; a DownloadError if it is no folder."""
    root = os.environ.get("MINIGRAD_DATA")
    if not root:
        return None
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DownloadError(
            f"MINIGRAD_DATA is set to {root!r}, which is not a folder: set it to the folder holding your copies "
            "of the data sets, or unset it to download them (the examples take a copy as --data PATH)"
        )
    return folder


def _filename(url: str) -> str:
    name = unquote(PurePosixPath(urlparse(url).path).name)
    if not name:
        raise ValueError(f"cannot tell a file name from the URL {url!r}")
    return name


def _resolve(source: Resource | str | os.PathLike[str], checksum: str | None) -> Resource | Path:
    """What ``source`` names: a ``Resource`` to fetch, or a local file (a path or a file:// URL)."""
    if checksum is not None:
        _parse_checksum(checksum)  # a malformed checksum fails before any work is done
    if isinstance(source, Resource):
        return source
    if isinstance(source, os.PathLike):
        return Path(source)
    parsed = urlparse(source)
    if parsed.scheme in ("http", "https"):
        return Resource.from_url(source)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    return Path(source).expanduser()


# --- fetching ----------------------------------------------------------------------------------


def _choose(source: Resource | Path, checksum: str | None, force: bool) -> Resource | Path:
    """Where to take ``source`` from: a local file, its copy in $MINIGRAD_DATA (unless ``force``), or
    the resource to download (held to ``checksum`` instead of its published one, if given)."""
    if isinstance(source, Path):
        return source
    local = _local_data()
    if not force and local is not None and (local / source.filename).is_file():
        return local / source.filename
    if checksum is not None:
        return dataclasses.replace(source, checksum=checksum, size=None)
    return source


def _obtain(source: Resource | Path, folder: Path, force: bool, checksum: str | None) -> Path:
    """A verified local copy of what ``_choose`` picked: the local file itself, or the cached or fresh
    download in ``folder``."""
    if isinstance(source, Path):
        return _checked_local(source, checksum)
    return _fetch(source, folder, force)


def _download_set(files: ResourceSet, dest: str | os.PathLike[str] | None, force: bool) -> Path:
    local = _local_data()
    if not force and local is not None:
        for folder in (local / files.name, local):
            if all((folder / r.filename).is_file() for r in files.resources):
                return folder
    folder = (Path(dest) if dest else _home() / "data") / files.name
    for resource in files.resources:
        _fetch(resource, folder, force)
    return folder


def _checked_local(path: Path, checksum: str | None) -> Path:
    if not path.is_file():
        raise DownloadError(f"{path}: no such file")
    if checksum is not None:
        _verify(path, str(path), checksum, None)
    return path


def _fetch(resource: Resource, folder: Path, force: bool) -> Path:
    """``folder/filename``, downloaded from the first URL that delivers it intact.

    A file already there is reused (unless ``force``) when it is the resource's: see ``_cached``.
    Files only get that name once complete and verified.
    """
    path = folder / resource.filename
    if not force and _cached(path, resource):
        return path
    folder.mkdir(parents=True, exist_ok=True)
    failures: list[DownloadError] = []
    for url in resource.urls:
        try:
            _download(url, path, resource)
            return path
        except DownloadError as exc:
            failures.append(exc)
    raise _all_failed(resource, failures)


def _download(url: str, path: Path, resource: Resource) -> None:
    """Fetch ``url`` to ``path`` atomically: into a temporary file, verified, then renamed."""
    part = path.with_name(f"{path.name}.part-{secrets.token_hex(4)}")
    try:
        _get_with_retries(url, part)
        _verify(part, url, resource.checksum, resource.size)
        _marker(path).unlink(missing_ok=True)
        os.replace(part, path)
        if resource.checksum is None and resource.size is None:  # then its URL is all that identifies it
            _record_source(path, {"url": url})
    finally:
        part.unlink(missing_ok=True)


def _get_with_retries(url: str, dest: Path) -> None:
    """Stream ``url`` into ``dest``, retrying transient failures with exponential back-off."""
    for attempt in range(RETRIES + 1):
        try:
            return _get(url, dest)
        except _TransientError as exc:
            if attempt == RETRIES:
                raise DownloadError(f"{exc} (gave up after {RETRIES + 1} attempts)") from exc
            time.sleep(BACKOFF * 2**attempt)


def _get(url: str, dest: Path) -> None:
    """One streaming GET of ``url`` into ``dest``, within DEADLINE and above MIN_SPEED."""
    start = time.monotonic()
    try:
        timeout = (CONNECT_TIMEOUT, STALL_WINDOW)
        with requests.get(url, stream=True, timeout=timeout, headers={"Accept-Encoding": "identity"}) as response:
            response.raise_for_status()
            length = response.headers.get("Content-Length", "")
            expected = int(length) if length.isdigit() else None
            with (
                open(dest, "wb") as out,
                Progress(url, expected, describe=megabytes, interval=PROGRESS_INTERVAL) as progress,
            ):
                received = _copy_body(response, out, progress, start)
    except requests.HTTPError as exc:
        code, reason = (exc.response.status_code, exc.response.reason) if exc.response is not None else (0, "")
        status = f"{url}: HTTP {code} {reason}"
        if code >= 500:
            raise _TransientError(status) from exc
        raise DownloadError(status) from exc
    except _TRANSIENT as exc:
        raise _TransientError(f"{url}: {exc}") from exc
    except requests.RequestException as exc:
        raise DownloadError(f"{url}: {exc}") from exc
    if expected is not None and received < expected:
        raise _TransientError(f"{url}: connection closed after {received:,} of {expected:,} bytes")


def _copy_body(response: requests.Response, out: BinaryIO, progress: Progress, start: float) -> int:
    """Write the body to ``out`` as it arrives; the number of bytes. A DownloadError past DEADLINE (since
    ``start``), a _TransientError when under MIN_SPEED over STALL_WINDOW: both name the limit hit."""
    url = progress.label
    read = getattr(response.raw, "read1", response.raw.read)  # urllib3 < 2.2 has no read1: read fills whole chunks
    received = window_received = 0
    window_start = time.monotonic()
    while True:
        try:
            chunk = read(CHUNK_SIZE, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            limit = f"nothing arrived for {STALL_WINDOW:g} s (minigrad.data.download.STALL_WINDOW)"
            raise _TransientError(f"{url}: stalled: {limit}; {_so_far(received, progress.total)}") from None
        if not chunk:
            return received
        out.write(chunk)
        received += len(chunk)
        progress.update(received)
        now = time.monotonic()
        if now - start > DEADLINE:
            limit = f"took over {DEADLINE:g} s (minigrad.data.download.DEADLINE)"
            raise DownloadError(f"{url}: gave up: the download {limit}; {_so_far(received, progress.total)}")
        if now - window_start >= STALL_WINDOW:
            if received - window_received < MIN_SPEED * (now - window_start):
                limit = (
                    f"{received - window_received:,} bytes in {now - window_start:.1f} s, under "
                    f"{MIN_SPEED:,} bytes/s (minigrad.data.download.MIN_SPEED, over STALL_WINDOW = {STALL_WINDOW:g} s)"
                )
                raise _TransientError(f"{url}: stalled: {limit}; {_so_far(received, progress.total)}")
            window_start, window_received = now, received


def _so_far(received: int, total: int | None) -> str:
    return f"{received:,} of {total:,} bytes received" if total is not None else f"{received:,} bytes received"


def _all_failed(resource: Resource, failures: list[DownloadError]) -> DownloadError:
    kind = ChecksumError if all(isinstance(f, ChecksumError) for f in failures) else DownloadError
    function = "untar_data" if archive_stem(resource.filename) else "download_data"
    reasons = "".join(f"\n  {failure}" for failure in failures)
    return kind(
        f"could not download {resource.filename}:{reasons}\n"
        f"If you have a copy, pass its path, e.g. {function}('/path/to/{resource.filename}'), "
        f"or put it in a folder and set MINIGRAD_DATA=/that/folder; "
        f"the examples take it as --data /path/to/{resource.filename} (or its folder)."
    )


# --- verification ------------------------------------------------------------------------------


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _verify(path: Path, source: str, checksum: str | None, size: int | None) -> None:
    """Raise ``ChecksumError``, naming ``source``, if ``path`` lacks the expected size or digest."""
    if size is not None and (actual_size := path.stat().st_size) != size:
        raise ChecksumError(f"{source}: expected {size:,} bytes, got {actual_size:,}")
    if checksum is not None:
        algorithm, expected = _parse_checksum(checksum)
        actual = _digest(path, algorithm)
        if actual != expected:
            raise ChecksumError(f"{source}: {algorithm} mismatch: expected {expected}, got {actual}")


def _cached(path: Path, resource: Resource) -> bool:
    """Whether the file at ``path`` is ``resource``: it has its checksum and size, or, for a resource
    with neither, it was downloaded from one of its URLs (as recorded beside it)."""
    if not path.is_file():
        return False
    if resource.checksum is None and resource.size is None:
        return (_recorded_source(path) or {}).get("url") in resource.urls
    try:
        _verify(path, str(path), resource.checksum, resource.size)
    except ChecksumError:
        return False
    return True


# --- what a cached file or folder was made from ------------------------------------------------


def _identity(source: Resource | Path) -> dict:
    """What an extracted folder comes from: a local archive's path, size and modification time, or the
    URLs and checksum of a download."""
    if isinstance(source, Path):
        if not source.is_file():
            raise DownloadError(f"{source}: no such file")
        stat = source.stat()
        return {"archive": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return {"urls": list(source.urls), "checksum": source.checksum}


def _marker(path: Path) -> Path:
    """The file recording what ``path`` was made from: hidden, beside it."""
    return path.with_name(f".{path.name}.source.json")


def _recorded_source(path: Path) -> dict | None:
    try:
        return json.loads(_marker(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _record_source(path: Path, source: dict) -> None:
    with atomic_open(_marker(path)) as f:
        f.write(json.dumps(source, indent=1).encode("utf-8"))
