"""Tests of minigrad.data.download against real files and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from pathlib import Path

import pytest
from shared_data import DATA, HAVE_MNIST, HAVE_SAMPLE, ROOT, SAMPLE, missing

from minigrad.data import download
from minigrad.data.download import (
    ArchiveError,
    ChecksumError,
    DownloadError,
    Resource,
    ResourceSet,
    URLs,
    download_data,
    untar_data,
)

SAMPLE_SHA256 = "sha256:8d821d7f0db3172a08bf2a218f69d6f902109844532263ad0f0fb23ec3aeb0b1"
# The shared IDX files are re-compressed copies: same contents, other bytes than the canonical .gz
# files, so they are checked here against their own sha256 (from shared/data/README.md).
IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": "71524e2cd1ad2968737f7f2f2ff69cbfc32df8ccddff51593f7cb2d4e0eb5b64",
    "train-labels-idx1-ubyte.gz": "fe03b8bd7915f70bf5aa08be480aa413fbd85afcaa58b35d230d335f284fd88e",
    "t10k-images-idx3-ubyte.gz": "5634745efa576a17e7d4cf5cd9d09123c75e6538e5114267c2d156edaf519341",
    "t10k-labels-idx1-ubyte.gz": "ae18e77e031ccde52407f794d123116439864147d33ac992975f85dd4dc42af6",
}
SAMPLE_COUNTS = {"train/3": 6131, "train/7": 6265, "valid/3": 1010, "valid/7": 1028}


class Server:
    """A real HTTP server on 127.0.0.1 serving the files under ``root``.

    ``plan[path]`` lists how to answer the next requests for ``path``: "cut" (announce the full
    Content-Length, send half, close), "503", "stall" (say nothing for 5 s, then close), "hang"
    (send half, then nothing for 5 s) or "trickle:<s>" (send the file a byte at a time, <s> seconds
    apart). Requests beyond the plan are served normally. ``requests`` records every path asked for.
    """

    def __init__(self, root: Path) -> None:
        self.plan: dict[str, list[str]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                planned = server.plan.get(self.path)
                action = planned.pop(0) if planned else "serve"
                if action == "serve":
                    super().do_GET()
                elif action == "503":
                    self.send_error(503)
                elif action == "stall":
                    time.sleep(5.0)
                else:
                    try:
                        self.send_part(action)
                    except (BrokenPipeError, ConnectionResetError):  # the client gave up
                        pass

            def send_part(self, action: str) -> None:
                data = (root / self.path.lstrip("/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if action.startswith("trickle:"):
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        time.sleep(float(action.partition(":")[2]))
                    return
                self.wfile.write(data[: len(data) // 2])
                if action == "hang":
                    time.sleep(5.0)

        self.root = root
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.running = True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{path}"

    def count(self, path: str) -> int:
        return self.requests.count("/" + path)

    def stop(self) -> None:
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.running = False


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if not p.is_dir()} if folder.exists() else set()


def count_pngs(folder: Path) -> dict[str, int]:
    return {split: len(list((folder / split).glob("*.png"))) for split in SAMPLE_COUNTS}


@pytest.fixture(scope="module")
def shared() -> Path:
    """The real data (see shared_data.py); the tests that need it are skipped without it."""
    if not (HAVE_SAMPLE and HAVE_MNIST):
        pytest.skip(missing("the real MNIST data (mnist_sample.tgz and mnist/*.gz)"))
    return DATA


@pytest.fixture(scope="module")
def small_sample(shared, tmp_path_factory) -> Path:
    """``mnist_sample.tgz`` with the first 40 images of the real one: real data, fast to extract."""
    path = tmp_path_factory.mktemp("small") / "mnist_sample.tgz"
    with tarfile.open(SAMPLE) as src, tarfile.open(path, "w:gz") as out:
        for member in islice(src, 40):
            out.addfile(member, src.extractfile(member))
    return path


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty $MINIGRAD_HOME, no $MINIGRAD_DATA, and fast retries."""
    monkeypatch.setenv("MINIGRAD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setattr(download, "BACKOFF", 0.01)
    return tmp_path / "home"


@pytest.fixture
def server(shared, tmp_path, small_sample, home) -> Server:
    """Serves mnist_sample.tgz (real), small/mnist_sample.tgz (40 images) and mnist/*.gz (real)."""
    www = tmp_path / "www"
    (www / "small").mkdir(parents=True)
    (www / "mnist_sample.tgz").symlink_to(SAMPLE)
    (www / "small" / "mnist_sample.tgz").symlink_to(small_sample)
    (www / "mnist").symlink_to(DATA / "mnist")
    server = Server(www)
    yield server
    server.stop()


@pytest.fixture
def made_up_server(tmp_path, home) -> Server:
    """Serves the folder made-up/, where each test puts made-up files: no real data needed."""
    (tmp_path / "made-up").mkdir()
    server = Server(tmp_path / "made-up")
    yield server
    server.stop()


def closed_port_url(path: str) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


# --- downloading and extracting the real archive -----------------------------------------------


def test_untar_data_from_http_server_extracts_the_real_sample(server, home):
    folder = untar_data(server.url("mnist_sample.tgz"), checksum=SAMPLE_SHA256)

    assert folder == home / "data" / "mnist_sample"
    assert count_pngs(folder) == SAMPLE_COUNTS
    assert (folder / "labels.csv").read_text().startswith("name,label")
    assert sha256(home / "archive" / "mnist_sample.tgz") == SAMPLE_SHA256
    assert sorted(p.name for p in (home / "data").iterdir()) == [".mnist_sample.source.json", "mnist_sample"]
    marker = json.loads((home / "data" / ".mnist_sample.source.json").read_text())
    assert marker == {"urls": [server.url("mnist_sample.tgz")], "checksum": SAMPLE_SHA256}
    assert sorted(p.name for p in (home / "archive").iterdir()) == ["mnist_sample.tgz"]


def test_second_call_reuses_the_cache_without_the_network(server, home):
    url = server.url("small/mnist_sample.tgz")
    folder = untar_data(url)
    server.stop()

    assert untar_data(url) == folder
    shutil.rmtree(folder)  # the extracted folder goes; the cached archive stays
    assert untar_data(url) == folder  # extracted again from the cached archive
    assert len(list((folder / "train" / "3").glob("*.png"))) == 40
    assert server.count("small/mnist_sample.tgz") == 1


def test_force_downloads_and_extracts_again(server, home):
    url = server.url("small/mnist_sample.tgz")
    folder = untar_data(url)
    (folder / "marker").write_text("old")
    assert untar_data(url) == folder
    assert server.count("small/mnist_sample.tgz") == 1

    assert untar_data(url, force=True) == folder
    assert server.count("small/mnist_sample.tgz") == 2
    assert not (folder / "marker").exists()
    assert len(list((folder / "train" / "3").glob("*.png"))) == 40


def test_failed_force_keeps_the_previous_folder(server, home):
    url = server.url("small/mnist_sample.tgz")
    folder = untar_data(url)
    (folder / "marker").write_text("old")
    server.plan["/small/mnist_sample.tgz"] = ["cut"] * 10

    with pytest.raises(DownloadError):
        untar_data(url, force=True)
    assert (folder / "marker").read_text() == "old"
    assert sorted(p.name for p in (home / "data").iterdir()) == [".mnist_sample.source.json", "mnist_sample"]
    assert untar_data(url) == folder and (folder / "marker").read_text() == "old"


# --- verification ------------------------------------------------------------------------------


def test_wrong_checksum_names_url_expected_and_actual_and_leaves_nothing(server, home):
    url = server.url("mnist_sample.tgz")
    wrong = "0" * 64

    with pytest.raises(ChecksumError) as error:
        untar_data(url, checksum=f"sha256:{wrong}")
    message = str(error.value)
    assert url in message and wrong in message and SAMPLE_SHA256.removeprefix("sha256:") in message
    assert files_under(home) == set()
    assert not (home / "data" / "mnist_sample").exists()


def test_md5_checksums_are_verified_too(server, home):
    source = DATA / "mnist" / "t10k-labels-idx1-ubyte.gz"
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    url = server.url("mnist/t10k-labels-idx1-ubyte.gz")

    assert download_data(url, checksum=f"md5:{md5.upper()}").read_bytes() == source.read_bytes()
    with pytest.raises(ChecksumError, match=f"expected {'f' * 32}, got {md5}"):
        download_data(url, force=True, checksum=f"md5:{'f' * 32}")


@pytest.mark.parametrize("checksum", ["abc", "sha1:" + "0" * 40, "md5:" + "z" * 32, "sha256:0"])
def test_malformed_checksum_is_a_value_error_saying_the_form(checksum, home):
    with pytest.raises(ValueError, match=r"'md5:<32 hex digits>' or 'sha256:<64 hex digits>'"):
        untar_data(SAMPLE, checksum=checksum)
    assert files_under(home) == set()


def test_known_urls_carry_the_published_checksums():
    sample = Resource.from_url(URLs.MNIST_SAMPLE)
    assert (sample.filename, sample.urls) == ("mnist_sample.tgz", (URLs.MNIST_SAMPLE,))
    assert (sample.checksum, sample.size) == ("md5:2dbc7ec6f9259b583af0072c55816a88", 3_214_948)
    assert Resource.from_url(URLs.MNIST).size == 15_683_414
    assert Resource.from_url("http://example.com/x.tgz").checksum is None
    assert Resource("x.tgz", "http://example.com/x.tgz").urls == ("http://example.com/x.tgz",)
    assert [r.filename for r in URLs.MNIST_IDX.resources] == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    first = URLs.MNIST_IDX.resources[0]
    assert first.urls == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
        "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz",
    )
    assert first.checksum == "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"


# --- retries and mirrors -----------------------------------------------------------------------


def test_connection_cut_halfway_is_retried_then_fails_cleanly(server, home):
    url = server.url("mnist_sample.tgz")
    server.plan["/mnist_sample.tgz"] = ["cut"] * 10

    with pytest.raises(DownloadError) as error:
        untar_data(url, checksum=SAMPLE_SHA256)
    assert server.count("mnist_sample.tgz") == download.RETRIES + 1 > 1
    assert url in str(error.value) and "MINIGRAD_DATA" in str(error.value)
    assert files_under(home) == set()


@pytest.mark.parametrize("failure", ["503", "cut", "stall"])
def test_one_transient_failure_then_success(failure, server, home, monkeypatch):
    server.plan["/mnist_sample.tgz"] = [failure]
    monkeypatch.setattr(download, "STALL_WINDOW", 0.5)  # so that a stall is a quick read timeout

    path = download_data(server.url("mnist_sample.tgz"), checksum=SAMPLE_SHA256)
    assert server.count("mnist_sample.tgz") >= 2
    assert path == home / "archive" / "mnist_sample.tgz"
    assert sha256(path) == SAMPLE_SHA256


def test_404_is_not_retried_and_the_next_mirror_is_used(server, home):
    resource = Resource(
        "mnist_sample.tgz",
        (server.url("gone/mnist_sample.tgz"), server.url("mnist_sample.tgz")),
        SAMPLE_SHA256,
    )

    path = download_data(resource)
    assert server.requests == ["/gone/mnist_sample.tgz", "/mnist_sample.tgz"]
    assert sha256(path) == SAMPLE_SHA256


def test_all_mirrors_failing_names_each_url(server, home):
    urls = (
        server.url("gone/mnist_sample.tgz"),  # 404
        server.url("mnist_sample.tgz"),  # always 503
        closed_port_url("mnist_sample.tgz"),  # connection refused
    )
    server.plan["/mnist_sample.tgz"] = ["503"] * 10

    with pytest.raises(DownloadError) as error:
        untar_data(Resource("mnist_sample.tgz", urls, SAMPLE_SHA256))
    message = str(error.value)
    assert all(url in message for url in urls)
    assert "404" in message and "503" in message
    assert "untar_data('/path/to/mnist_sample.tgz')" in message and "--data /path/to/mnist_sample.tgz" in message
    assert server.count("gone/mnist_sample.tgz") == 1
    assert server.count("mnist_sample.tgz") == download.RETRIES + 1
    assert files_under(home) == set()


# --- time limits ---------------------------------------------------------------------------------


@pytest.fixture
def limits(monkeypatch):
    """Tiny time limits, so that each test takes a second or so."""
    for name, value in {"STALL_WINDOW": 0.3, "MIN_SPEED": 100, "DEADLINE": 10.0, "RETRIES": 1}.items():
        monkeypatch.setattr(download, name, value)


def failing_download(server: Server, home: Path, plan: list[str]) -> tuple[str, str, float]:
    """Fetch data.bin (129 bytes) from `server`, answering as `plan` says, expecting a DownloadError:
    (the URL, the error's message, the seconds it took). Nothing may be left behind."""
    (server.root / "data.bin").write_bytes(bytes(range(129)))
    server.plan["/data.bin"] = plan
    url = server.url("data.bin")
    start = time.monotonic()
    with pytest.raises(DownloadError) as error:
        download_data(url)
    assert files_under(home) == set()
    return url, str(error.value), time.monotonic() - start


def test_a_trickling_download_is_a_stall_naming_url_bytes_and_limit(made_up_server, home, limits):
    url, message, seconds = failing_download(made_up_server, home, ["trickle:0.05"] * 2)  # 20 bytes/s
    assert seconds < 3
    assert f"{url}: stalled: " in message and "under 100 bytes/s (minigrad.data.download.MIN_SPEED" in message
    assert re.search(r"; \d+ of 129 bytes received", message)
    assert made_up_server.count("data.bin") == 2  # a stall is retried: another connection may do better


def test_a_server_gone_silent_is_a_stall_after_the_window(made_up_server, home, limits):
    url, message, _ = failing_download(made_up_server, home, ["hang", "hang"])
    assert f"{url}: stalled: nothing arrived for 0.3 s (minigrad.data.download.STALL_WINDOW)" in message
    assert "64 of 129 bytes received" in message


def test_the_deadline_bounds_an_attempt_however_steady_and_is_not_retried(made_up_server, home, limits, monkeypatch):
    monkeypatch.setattr(download, "MIN_SPEED", 1)
    monkeypatch.setattr(download, "DEADLINE", 0.5)
    url, message, seconds = failing_download(made_up_server, home, ["trickle:0.02"])  # steady, but 2.6 s in all
    assert seconds < 2
    assert f"{url}: gave up: the download took over 0.5 s (minigrad.data.download.DEADLINE)" in message
    assert re.search(r"; \d+ of 129 bytes received", message)
    assert made_up_server.count("data.bin") == 1


# --- single files and file sets ----------------------------------------------------------------


def test_download_data_single_file(server, home, tmp_path):
    name = "train-labels-idx1-ubyte.gz"
    url = server.url(f"mnist/{name}")

    path = download_data(url, checksum=f"sha256:{IDX_SHA256[name]}")
    assert path == home / "archive" / name
    assert path.read_bytes() == (DATA / "mnist" / name).read_bytes()
    server.stop()
    assert download_data(url, checksum=f"sha256:{IDX_SHA256[name]}") == path
    with pytest.raises(DownloadError, match="Connection refused|Failed to establish"):
        download_data(url, tmp_path / "elsewhere")


def test_download_data_resource_set_with_mirrors(server, home):
    files = ResourceSet(
        "mnist",
        tuple(
            Resource(
                r.filename,
                (server.url(f"gone/{r.filename}"), server.url(f"mnist/{r.filename}")),
                f"sha256:{IDX_SHA256[r.filename]}",
            )
            for r in URLs.MNIST_IDX.resources
        ),
    )

    folder = download_data(files)
    assert folder == home / "data" / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(IDX_SHA256)
    for name in IDX_SHA256:
        assert (folder / name).read_bytes() == (DATA / "mnist" / name).read_bytes()
    assert len(server.requests) == 8
    assert download_data(files) == folder
    assert len(server.requests) == 8


@pytest.mark.parametrize("root", [DATA, DATA / "mnist"])
def test_minigrad_data_folder_with_the_idx_files_is_used_directly(root, shared, home, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", str(root))
    assert download_data(URLs.MNIST_IDX) == DATA / "mnist"
    assert files_under(home) == set()


# --- offline use -------------------------------------------------------------------------------


def test_local_archive_path(small_sample, home):
    folder = untar_data(str(small_sample))
    assert folder == home / "data" / "mnist_sample"
    assert len(list((folder / "train" / "3").glob("*.png"))) == 40
    assert not (home / "archive").exists()


def test_file_url_with_dest(small_sample, home, tmp_path):
    folder = untar_data(small_sample.as_uri(), tmp_path / "dest", checksum=sha256(small_sample))
    assert folder == tmp_path / "dest" / "mnist_sample"
    assert len(list((folder / "train" / "3").glob("*.png"))) == 40
    assert files_under(home) == set()


def test_local_archive_is_checked_only_against_a_given_checksum(small_sample, home):
    with pytest.raises(ChecksumError, match=str(small_sample)):
        untar_data(small_sample, checksum=SAMPLE_SHA256)
    assert files_under(home) == set()
    assert untar_data(small_sample) == home / "data" / "mnist_sample"


def test_minigrad_data_with_the_archive(small_sample, home, monkeypatch):
    # The official URL: it must not be fetched, and the re-packed local copy is not held to the
    # published md5 and size.
    monkeypatch.setenv("MINIGRAD_DATA", str(small_sample.parent))
    folder = untar_data(URLs.MNIST_SAMPLE)
    assert folder == home / "data" / "mnist_sample"
    assert len(list((folder / "train" / "3").glob("*.png"))) == 40


def test_minigrad_data_with_the_extracted_folder(server, home, tmp_path, monkeypatch):
    (tmp_path / "local" / "mnist_sample" / "train").mkdir(parents=True)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "local"))

    assert untar_data(server.url("mnist_sample.tgz")) == tmp_path / "local" / "mnist_sample"
    assert server.requests == []
    assert files_under(home) == set()


def test_missing_local_file_and_non_archive_names(home, tmp_path):
    with pytest.raises(DownloadError, match="no such file"):
        untar_data(tmp_path / "nothing.tgz")
    with pytest.raises(ValueError, match="'labels.csv' is not an archive"):
        untar_data(tmp_path / "labels.csv")


# --- what a cached folder or file was made from ------------------------------------------------


def archive_saying(path: Path, text: str, mtime_ns: int | None = None) -> Path:
    """A .tgz at `path` holding data/version.txt with `text` (and modified at `mtime_ns`, if given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tar_with(path, ("file", "data/version.txt", text))
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_untar_data_extracts_again_when_the_archive_is_another(home, tmp_path):
    v1 = archive_saying(tmp_path / "v1" / "data.tgz", "one")
    v2 = archive_saying(tmp_path / "v2" / "data.tgz", "two")
    assert (untar_data(v1) / "version.txt").read_text() == "one"
    assert (untar_data(v2) / "version.txt").read_text() == "two"  # another file of the same name
    mtime = v1.stat().st_mtime_ns
    assert (untar_data(archive_saying(v1, "three", mtime + 10**9)) / "version.txt").read_text() == "three"

    folder = untar_data(v1)
    (folder / "mine.txt").write_text("kept")
    assert untar_data(v1) == folder and (folder / "mine.txt").read_text() == "kept"  # unchanged: not extracted again
    marker = json.loads((home / "data" / ".data.source.json").read_text())
    assert marker == {"archive": str(v1.resolve()), "size": v1.stat().st_size, "mtime_ns": mtime + 10**9}


def test_a_folder_at_the_destination_not_extracted_from_the_archive_is_replaced(home, tmp_path):
    (tmp_path / "dest" / "data").mkdir(parents=True)
    (tmp_path / "dest" / "data" / "version.txt").write_text("someone else's")
    archive = archive_saying(tmp_path / "data.tgz", "one")
    assert (untar_data(archive, tmp_path / "dest") / "version.txt").read_text() == "one"


def test_untar_data_from_another_url_with_the_same_file_name(made_up_server, home):
    archive_saying(made_up_server.root / "v1" / "data.tgz", "one")
    archive_saying(made_up_server.root / "v2" / "data.tgz", "two")
    v1, v2 = made_up_server.url("v1/data.tgz"), made_up_server.url("v2/data.tgz")

    assert (untar_data(v1) / "version.txt").read_text() == "one"
    assert (untar_data(v2) / "version.txt").read_text() == "two"
    assert (untar_data(v1) / "version.txt").read_text() == "one"
    assert made_up_server.requests == ["/v1/data.tgz", "/v2/data.tgz", "/v1/data.tgz"]
    assert download_data(v1).read_bytes() == (made_up_server.root / "v1" / "data.tgz").read_bytes()
    assert made_up_server.requests[3:] == []  # the cached download is v1's: reused


def test_minigrad_data_naming_a_missing_folder_is_an_error_naming_it(home, tmp_path, monkeypatch):
    missing_folder = tmp_path / "no-such-folder"
    monkeypatch.setenv("MINIGRAD_DATA", str(missing_folder))
    for fetch in (lambda: untar_data(URLs.MNIST_SAMPLE), lambda: download_data(URLs.MNIST_IDX)):
        with pytest.raises(DownloadError) as error:
            fetch()  # the real URLs: no network is tried
        message = str(error.value)
        assert f"MINIGRAD_DATA is set to {str(missing_folder)!r}, which is not a folder" in message
        assert "--data" in message
    assert files_under(home) == set()


# --- unsafe and broken archives ----------------------------------------------------------------


KINDS = {
    "file": tarfile.REGTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "chardev": tarfile.CHRTYPE,
}


def tar_with(path: Path, *members: tuple[str, str, str]) -> Path:
    """A .tar.gz of (kind, name, content or link target) members; kind is a key of KINDS."""
    with tarfile.open(path, "w:gz") as tar:
        for kind, name, payload in members:
            info = tarfile.TarInfo(name)
            info.type = KINDS[kind]
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload.encode()))
            else:
                info.linkname = payload
                tar.addfile(info)
    return path


UNSAFE = {
    "dotdot": [("file", "pkg/ok.txt", "ok"), ("file", "pkg/../../evil.txt", "evil")],
    "absolute": [("file", "pkg/ok.txt", "ok"), ("file", "{tmp}/evil.txt", "evil")],
    "symlink out": [("symlink", "pkg/link", "../../.."), ("file", "pkg/link/evil.txt", "evil")],
    "absolute symlink": [("symlink", "pkg/link", "{tmp}")],
    "symlink chain": [
        ("symlink", "pkg/a", "b/../../.."),
        ("symlink", "pkg/b", "."),
        ("file", "pkg/a/evil.txt", "evil"),
    ],
    "file over symlink": [
        ("symlink", "pkg/b", "."),
        ("symlink", "pkg/a", "b/../evil.txt"),
        ("file", "pkg/a", "evil"),
    ],
    "hardlink out": [("hardlink", "pkg/passwd", "../../etc/passwd")],
    "hardlink to symlink": [("symlink", "pkg/s", "x"), ("hardlink", "pkg/h", "pkg/s")],
    "fifo": [("fifo", "pkg/fifo", "")],
    "device": [("chardev", "pkg/null", "")],
}


@pytest.mark.parametrize("case", UNSAFE)
def test_unsafe_archive_is_refused_and_writes_nothing(case, home, tmp_path):
    members = [tuple(field.format(tmp=tmp_path) for field in member) for member in UNSAFE[case]]
    archive = tar_with(tmp_path / "bad.tgz", *members)
    before = files_under(tmp_path)
    dest = tmp_path / "deep" / "dest"

    with pytest.raises(ArchiveError, match="refusing") as error:
        untar_data(archive, dest)
    assert any(repr(name) in str(error.value) for _, name, _ in members)
    assert files_under(tmp_path) == before
    assert list(dest.iterdir()) == []


def test_safe_links_inside_the_archive_are_kept(home, tmp_path):
    archive = tar_with(
        tmp_path / "links.tgz",
        ("file", "pkg/data/a.txt", "hello"),
        ("symlink", "pkg/alias", "data/a.txt"),
        ("hardlink", "pkg/copy", "pkg/data/a.txt"),
    )
    folder = untar_data(archive)
    assert folder == home / "data" / "links"
    assert (folder / "alias").is_symlink() and (folder / "alias").read_text() == "hello"
    assert (folder / "copy").read_text() == "hello"


def test_zip_archives_are_extracted_and_checked(home, tmp_path):
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("good/train/a.txt", "a")
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../evil.txt", "evil")

    assert (untar_data(good) / "train" / "a.txt").read_text() == "a"
    with pytest.raises(ArchiveError, match="'../evil.txt'"):
        untar_data(bad)
    assert not (home / "data" / "bad").exists() and not (home / "evil.txt").exists()


def test_truncated_local_archive_is_a_clear_error(shared, home, tmp_path):
    truncated = tmp_path / "mnist_sample.tgz"
    truncated.write_bytes(SAMPLE.read_bytes()[:200_000])

    with pytest.raises(ArchiveError, match="corrupt or truncated: .*replace it with a good copy"):
        untar_data(truncated)
    assert files_under(home) == set()


def test_truncated_downloaded_archive_says_how_to_recover(server, home, tmp_path):
    (tmp_path / "www" / "broken.tgz").write_bytes(SAMPLE.read_bytes()[:200_000])

    with pytest.raises(ArchiveError, match="is corrupt or truncated: .*pass force=True"):
        untar_data(server.url("broken.tgz"))
    assert sorted(p.name for p in (home / "data").iterdir()) == []


# --- progress ----------------------------------------------------------------------------------


def test_progress_lines_when_stderr_is_not_a_terminal(made_up_server, home, monkeypatch, capfd):
    (made_up_server.root / "data.bin").write_bytes(bytes(range(129)))
    made_up_server.plan["/data.bin"] = ["trickle:0.005"]  # about 0.7 s
    monkeypatch.setattr(download, "PROGRESS_INTERVAL", 0.1)
    url = made_up_server.url("data.bin")

    assert download_data(url).read_bytes() == bytes(range(129))
    lines = capfd.readouterr().err.splitlines()
    assert lines[0] == f"{url}:   0% 0.0 MB"
    periodic = re.compile(rf"{re.escape(url)}: +\d{{1,3}}% 0\.0 MB")  # "  5%", " 42%": done so far
    assert [line for line in lines[1:-1] if periodic.fullmatch(line)] == lines[1:-1]
    assert len(lines) >= 4
    assert re.fullmatch(rf"{re.escape(url)}: 100% 0\.0 MB, done in \d+\.\d s", lines[-1])


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_bar_on_a_terminal(server, tmp_path):
    controller, terminal = os.openpty()
    url = server.url("mnist_sample.tgz")
    script = f"from minigrad.data.download import download_data; download_data({url!r})"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINIGRAD_HOME": str(tmp_path / "tty-home")}
    command = [sys.executable, "-c", script]
    try:
        subprocess.run(command, stderr=terminal, env=env, check=True, timeout=60)
        shown = os.read(controller, 1 << 16).decode()
    finally:
        os.close(controller)
        os.close(terminal)
    assert "mnist_sample.tgz: 100% 3.4 MB" in shown
