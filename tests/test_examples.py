"""The examples, run end to end as scripts on the real MNIST data (found as shared_data.py says).

Each runs in a subprocess from the project root with $MINIGRAD_HOME in a temporary folder (so
nothing is written to the user's home) and $MINIGRAD_DATA unset (so only --data is used); the
figures they print are checked. MNIST_SAMPLE is extracted once per session and passed as a folder.
Their command lines are checked too, on tiny made-up data sets laid out as the real ones.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shared_data import HAVE_SAMPLE, IDX_FILES, MNIST, ROOT, SAMPLE, missing, needs_mnist, needs_sample

import minigrad as mg
from minigrad.data import save_image, untar_data, write_idx

EXAMPLES = ("pixel_similarity", "sgd_quadratic", "linear_model", "simple_net", "mnist_full", "mnist_cnn")
TAKES_DATA = {"pixel_similarity", "linear_model", "simple_net", "mnist_full", "mnist_cnn"}

needs_cuda = pytest.mark.skipif(not mg.cuda.is_available(), reason="needs a CUDA GPU and cupy")

# The accuracy each must reach on the validation (for mnist_full: test) set.
THRESHOLDS = {
    "scratch": 0.965, "optimizer": 0.975, "learner": 0.975, "simple_net": 0.98, "mnist_full": 0.97, "mnist_cnn": 0.99
}  # fmt: skip

FINAL = re.compile(r"^(\w+): final validation accuracy (\d\.\d{4})$", re.M)


def start(script: str, *args, home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run examples/<script>.py with `args` from the project root, and return how it went."""
    env = dict(os.environ, MINIGRAD_HOME=str(home))
    env.pop("MINIGRAD_DATA", None)
    return subprocess.run(
        [sys.executable, str(Path("examples") / f"{script}.py"), *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run(script: str, *args, home: Path, timeout: float = 300) -> str:
    """Run examples/<script>.py with `args`; its stdout, after checking it succeeded."""
    proc = start(script, *args, home=home, timeout=timeout)
    assert proc.returncode == 0, f"{script} {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def finals(out: str) -> dict[str, float]:
    """{name: accuracy} from the 'NAME: final validation accuracy X' lines."""
    return {name: float(value) for name, value in FINAL.findall(out)}


def sections(out: str) -> dict[str, str]:
    """linear_model's output split at its '--- mode' lines."""
    parts = re.split(r"^--- (\w+)$", out, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def epoch_accuracies(section: str) -> list[float]:
    """The per-epoch 'batch_accuracy X' of the scratch and optimizer modes."""
    return [float(v) for v in re.findall(r"^epoch +\d+  batch_accuracy (\d\.\d{4})$", section, re.M)]


def table_rows(out: str) -> list[list[str]]:
    """The rows of a Learner's table: epoch, train_loss, valid_loss, metric, time."""
    return [line.split() for line in out.splitlines() if re.match(r"^\d+ +\d+\.\d{6} ", line)]


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """MNIST_SAMPLE extracted once for the whole session (the folder holding train/ and valid/)."""
    if not HAVE_SAMPLE:
        pytest.skip(missing("the real MNIST_SAMPLE (mnist_sample.tgz)"))
    return untar_data(SAMPLE, dest=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    """$MINIGRAD_HOME for the examples: a fresh folder, never the user's ~/.minigrad."""
    return tmp_path_factory.mktemp("minigrad_home")


# ---- every script --------------------------------------------------------------------------------------
@pytest.mark.parametrize("script", EXAMPLES)
def test_help(script, tmp_path):
    out = run(script, "--help", home=tmp_path)
    assert out.startswith("usage:")
    for option in ("--seed", "--device") + (("--data",) if script in TAKES_DATA else ()):
        assert option in out


# ---- command lines, on made-up data ------------------------------------------------------------------
def made_up_sample(path: Path, threes: int, sevens: int = 3) -> Path:
    """An archive laid out as mnist_sample.tgz, with `threes` and `sevens` random digits per split."""
    rng = np.random.default_rng(threes)
    folder = path.parent / "made_up" / "mnist_sample"
    for split in ("train", "valid"):
        for digit, count in (("3", threes), ("7", sevens)):
            for i in range(count):
                save_image(rng.integers(0, 256, (28, 28), dtype=np.uint8), folder / split / digit / f"{i}.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname="mnist_sample")
    shutil.rmtree(folder.parent)
    return path


@pytest.fixture(scope="module")
def tiny_sample(tmp_path_factory) -> Path:
    return made_up_sample(tmp_path_factory.mktemp("tiny") / "mnist_sample.tgz", threes=4)


@pytest.fixture(scope="module")
def tiny_idx(tmp_path_factory) -> Path:
    """A folder of the four IDX files, with 20 random training and 10 test digits."""
    folder = tmp_path_factory.mktemp("tiny_idx")
    rng = np.random.default_rng(0)
    shapes = ((20, 28, 28), (20,), (10, 28, 28), (10,))  # images and labels, train then test
    for name, shape in zip(IDX_FILES, shapes):
        write_idx(rng.integers(0, 256 if len(shape) > 1 else 10, shape, dtype=np.uint8), folder / name)
    return folder


BAD_OPTIONS = [
    ("linear_model", ["--bs", "0"], "argument --bs: expected an integer > 0, got '0'"),
    ("linear_model", ["--epochs", "-1"], "argument --epochs: expected an integer >= 0, got '-1'"),
    ("linear_model", ["--lr", "-1"], "argument --lr: expected a finite number > 0, got '-1'"),
    ("linear_model", ["--lr", "nan"], "argument --lr: expected a finite number > 0, got 'nan'"),
    ("simple_net", ["--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
    ("simple_net", ["--hidden", "two"], "argument --hidden: expected an integer > 0, got 'two'"),
    ("mnist_full", ["--lr", "inf"], "argument --lr: expected a finite number > 0, got 'inf'"),
    ("sgd_quadratic", ["--steps", "-3"], "argument --steps: expected an integer >= 0, got '-3'"),
    ("pixel_similarity", ["--data", "no/such/place"], "argument --data: no/such/place: no such file or folder"),
    ("mnist_full", ["--data", "docs"], "argument --data: docs: expected a folder holding train-images-idx3-ubyte.gz"),
    ("pixel_similarity", ["--data", "docs"], "argument --data: docs: expected mnist_sample.tgz, its extracted folder"),
    (
        "sgd_quadratic",
        ["--save-dir", "README.md"],
        "argument --save-dir: README.md: README.md is a file; expected a folder",
    ),
    ("pixel_similarity", ["--save-dir", "README.md/out"], "--save-dir: README.md/out: README.md is a file"),
    ("mnist_cnn", ["--width", "0"], "argument --width: expected an integer > 0, got '0'"),
]


@pytest.mark.parametrize("script, args, message", BAD_OPTIONS, ids=[f"{s} {' '.join(a)}" for s, a, _ in BAD_OPTIONS])
def test_a_bad_option_is_a_usage_error_without_traceback(script, args, message, tmp_path):
    proc = start(script, *args, home=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("usage: ") and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "data").exists()  # refused before any work


@pytest.mark.parametrize("script", sorted(TAKES_DATA))
def test_data_it_cannot_get_is_an_error_without_traceback(script, tmp_path):
    env = dict(os.environ, MINIGRAD_HOME=str(tmp_path), MINIGRAD_DATA=str(tmp_path / "no such folder"))
    proc = subprocess.run(
        [sys.executable, f"examples/{script}.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"{script}.py: MINIGRAD_DATA is set to"), proc.stderr
    assert "--data" in proc.stderr and "Traceback" not in proc.stderr


def test_zero_epochs_trains_nothing_and_prints_the_baselines(tiny_sample, tiny_idx, tmp_path):
    out = run("linear_model", "--data", tiny_sample, "--epochs", 0, home=tmp_path)
    assert set(finals(out)) == {"scratch", "optimizer", "learner"}, out
    assert "batch_accuracy" not in out.replace("epoch     train_loss  valid_loss  batch_accuracy  time", "")
    for script, data in (("simple_net", tiny_sample), ("mnist_full", tiny_idx), ("mnist_cnn", tiny_idx)):
        out = run(script, "--data", data, "--epochs", 0, home=tmp_path)
        assert list(finals(out)) == [script] and table_rows(out) == [], out


def test_data_archives_of_the_same_name_are_told_apart(tmp_path):
    """--data v1/mnist_sample.tgz, then v2/mnist_sample.tgz: the second run reads v2, not v1's cached folder."""
    v1 = made_up_sample(tmp_path / "v1" / "mnist_sample.tgz", threes=2)
    v2 = made_up_sample(tmp_path / "v2" / "mnist_sample.tgz", threes=5)
    home = tmp_path / "home"
    assert "training images: 2 threes, 3 sevens" in run("pixel_similarity", "--data", v1, home=home)
    assert "training images: 5 threes, 3 sevens" in run("pixel_similarity", "--data", v2, home=home)
    assert "training images: 2 threes, 3 sevens" in run("pixel_similarity", "--data", v1, home=home)


# ---- the chapter's baselines -----------------------------------------------------------------------------
@needs_sample
def test_pixel_similarity(sample_dir, home, tmp_path):
    out = run("pixel_similarity", "--data", sample_dir, "--seed", 42, "--save-dir", tmp_path, home=home)
    assert "validation accuracy: 3s 0.9168, 7s 0.9854, average 0.9511" in out
    assert "one 3 against the ideal 3: L1 0.1114, RMSE 0.2021" in out  # the book's figures
    assert "one 3 against the ideal 7: L1 0.1586, RMSE 0.3021" in out
    for name in ("ideal_3.png", "ideal_7.png"):
        with Image.open(tmp_path / name) as img:
            assert img.format == "PNG" and img.size == (28, 28)


def test_sgd_quadratic(tmp_path):
    out = run("sgd_quadratic", "--seed", 42, "--steps", 10, "--save-dir", tmp_path, home=tmp_path)
    losses = [float(v) for v in re.findall(r"^step +\d+  loss +(-?[\d.]+)$", out, re.M)]
    assert len(losses) == 10
    assert losses[-1] < losses[0]
    assert all(b <= a for a, b in zip(losses, losses[1:])), losses
    with Image.open(tmp_path / "quadratic_fit.png") as img:
        assert img.format == "PNG"


# ---- the linear model, three ways ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def linear_all(sample_dir, home) -> str:
    return run("linear_model", "--data", sample_dir, "--seed", 6, "--mode", "all", home=home)


@pytest.mark.slow
@needs_sample
def test_linear_model_reaches_the_chapters_accuracy(linear_all):
    acc = finals(linear_all)
    assert set(acc) == {"scratch", "optimizer", "learner"}, linear_all
    for mode in acc:
        assert acc[mode] >= THRESHOLDS[mode], linear_all  # the chapter's scratch model: 0.9696
    parts = sections(linear_all)
    for mode in ("scratch", "optimizer"):
        per_epoch = epoch_accuracies(parts[mode])
        assert len(per_epoch) == 20 and per_epoch[-1] == acc[mode]
    rows = table_rows(parts["learner"])
    assert len(rows) == 20 and round(float(rows[-1][3]), 4) == acc["learner"]


@pytest.mark.slow
@needs_sample
def test_same_seed_same_output(linear_all, sample_dir, home):
    """Scratch mode twice with one seed prints the same, and the same as within --mode all (reseeded per mode)."""
    first, second = (
        run("linear_model", "--data", sample_dir, "--seed", 6, "--mode", "scratch", home=home) for _ in range(2)
    )
    assert first == second
    assert sections(first)["scratch"] == sections(linear_all)["scratch"]


# ---- beyond the linear model ----------------------------------------------------------------------------
@pytest.mark.slow
@needs_sample
def test_simple_net(sample_dir, home):
    out = run("simple_net", "--data", sample_dir, "--seed", 42, home=home)
    assert len(table_rows(out)) == 40
    assert finals(out)["simple_net"] >= THRESHOLDS["simple_net"], out  # the chapter: 0.9828


@pytest.mark.slow
@needs_mnist
def test_mnist_full(home):
    out = run("mnist_full", "--data", MNIST, "--seed", 42, home=home)
    assert "60000 training and 10000 test digits" in out
    assert len(table_rows(out)) == 3
    assert finals(out)["mnist_full"] >= THRESHOLDS["mnist_full"], out


@pytest.mark.slow
@needs_mnist
def test_mnist_cnn_on_a_short_budget(home, tmp_path):
    """The CNN on 512 digits for 2 epochs (seconds): the loss falls and it beats chance (0.1) by far;
    with --lr-find it draws its plot first, then trains as well (from the weights put back)."""
    args = ("--data", MNIST, "--limit", 512, "--bs", 32, "--seed", 42)
    out = run("mnist_cnn", *args, home=home)
    assert "512 training and 512 test digits" in out and "BatchNorm2d(16" in out
    rows = table_rows(out)
    assert len(rows) == 2
    (train0, valid0), (train1, valid1) = ((float(r[1]), float(r[2])) for r in rows)
    assert train1 < train0 < 2.3 and valid1 < valid0 < 2.3  # below ln(10), the loss of a uniform guess
    assert finals(out)["mnist_cnn"] >= 0.6, out
    plot = tmp_path / "lr.png"
    with_find = run("mnist_cnn", *args, "--lr-find", plot, home=home)
    assert re.search(r"^lr_find: valley at lr \d\.\d\de[-+]\d\d, plot in ", with_find, re.M), with_find
    assert len(table_rows(with_find)) == 2 and finals(with_find)["mnist_cnn"] >= 0.6, with_find
    with Image.open(plot) as img:
        assert img.format == "PNG"


@pytest.mark.slow
@needs_cuda
@pytest.mark.parametrize(
    "script, data, seed",
    [
        pytest.param("linear_model", "sample", 6, marks=needs_sample),
        pytest.param("simple_net", "sample", 42, marks=needs_sample),
        pytest.param("mnist_full", "mnist", 42, marks=needs_mnist),
        pytest.param("mnist_cnn", "mnist", 42, marks=needs_mnist),
    ],
)
def test_on_cuda(script, data, seed, request, home):
    """--device cuda reaches the same accuracies (the weights are drawn on the host, as on the CPU)."""
    path = request.getfixturevalue("sample_dir") if data == "sample" else MNIST
    out = run(script, "--data", path, "--seed", seed, "--device", "cuda", home=home)
    acc = finals(out)
    assert acc and all(value >= THRESHOLDS[name] for name, value in acc.items()), out


def test_jit_prints_the_same_figures(tiny_sample, tiny_idx, tmp_path):
    """--jit (the training step captured by minigrad.jit) changes nothing but the time; the CNN's
    fit_one_cycle replays one program while its learning rate and momentum change every batch."""

    def figures(out: str) -> str:
        return re.sub(r"\d\d:\d\d\b|[\d.]+ s\b", "mm:ss", out)

    for script, data in (("linear_model", tiny_sample), ("simple_net", tiny_sample), ("mnist_cnn", tiny_idx)):
        args = ("--data", data, "--epochs", 3, "--bs", 8)  # several batches: most steps replay
        eager, proc = run(script, *args, home=tmp_path), start(script, *args, "--jit", home=tmp_path)
        assert proc.returncode == 0 and "minigrad.jit runs" not in proc.stderr, proc.stderr  # no eager fallback
        assert "epoch" in eager and figures(proc.stdout) == figures(eager), (eager, proc.stdout)
