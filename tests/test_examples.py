"""The examples, run end to end as scripts on the real MNIST data (found as shared_data.py says).

Each runs in a subprocess from the project root with $MINIGRAD_HOME in a temporary folder (so
nothing is written to the user's home) and $MINIGRAD_DATA unset (so only --data is used); the
figures they print are checked. MNIST_SAMPLE is extracted once per session and passed as a folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from shared_data import HAVE_SAMPLE, MNIST, ROOT, SAMPLE, missing, needs_mnist, needs_sample

import minigrad as mg
from minigrad.data import untar_data

EXAMPLES = ("pixel_similarity", "sgd_quadratic", "linear_model", "simple_net", "mnist_full")
TAKES_DATA = {"pixel_similarity", "linear_model", "simple_net", "mnist_full"}

needs_cuda = pytest.mark.skipif(not mg.cuda.is_available(), reason="needs a CUDA GPU and cupy")

# The accuracy each must reach on the validation (for mnist_full: test) set.
THRESHOLDS = {"scratch": 0.965, "optimizer": 0.975, "learner": 0.975, "simple_net": 0.98, "mnist_full": 0.97}

FINAL = re.compile(r"^(\w+): final validation accuracy (\d\.\d{4})$", re.M)


def run(script: str, *args, home: Path, timeout: float = 300) -> str:
    """Run examples/<script>.py with `args` from the project root; its stdout, after checking it succeeded."""
    env = dict(os.environ, MINIGRAD_HOME=str(home))
    env.pop("MINIGRAD_DATA", None)
    proc = subprocess.run(
        [sys.executable, str(Path("examples") / f"{script}.py"), *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
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
@needs_cuda
@pytest.mark.parametrize(
    "script, data, seed",
    [
        pytest.param("linear_model", "sample", 6, marks=needs_sample),
        pytest.param("simple_net", "sample", 42, marks=needs_sample),
        pytest.param("mnist_full", "mnist", 42, marks=needs_mnist),
    ],
)
def test_on_cuda(script, data, seed, request, home):
    """--device cuda reaches the same accuracies (the weights are drawn on the host, as on the CPU)."""
    path = request.getfixturevalue("sample_dir") if data == "sample" else MNIST
    out = run(script, "--data", path, "--seed", seed, "--device", "cuda", home=home)
    acc = finals(out)
    assert acc and all(value >= THRESHOLDS[name] for name, value in acc.items()), out
