"""minigrad.progress on a real pseudo-terminal and on a plain stream, and the Learner's bar through it."""

from __future__ import annotations

import io
import os
import re
import select
import sys
import time

import pytest

import minigrad as mg
from minigrad.data import DataLoader, DataLoaders, TensorDataset
from minigrad.learner import Learner
from minigrad.nn import Linear
from minigrad.nn.functional import mse_loss
from minigrad.progress import Progress, count_bar, megabytes, progress_over

needs_pty = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")


@pytest.fixture
def terminal():
    """A text stream that is a real terminal (the pty's end), and a function reading what reached the terminal."""
    controller, end = os.openpty()
    stream = open(end, "w", encoding="utf-8")  # noqa: SIM115  (closed below)

    def shown() -> str:
        stream.flush()
        data = b""
        while select.select([controller], [], [], 0.2)[0]:  # all that has reached the terminal so far
            data += os.read(controller, 1 << 16)
        return data.decode()

    yield stream, shown
    stream.close()
    os.close(controller)


def test_descriptions():
    assert count_bar(5, 10) == "[###############...............] 5/10"
    assert count_bar(7, None) == "7"
    assert megabytes(1_400_000, 3_200_000) == " 43% 1.4 MB"
    assert megabytes(1_400_000, None) == "1.4 MB"


@needs_pty
def test_on_a_terminal_the_line_is_redrawn_then_kept_or_erased(terminal):
    stream, shown = terminal
    with Progress("epoch 1/2 train", 10, stream=stream) as bar:
        bar.update(10)  # the end is always shown, and once
    assert shown() == "\repoch 1/2 train: [##############################] 10/10\n".replace("\n", "\r\n")
    with Progress("valid", 4, stream=stream, keep=False) as bar:
        time.sleep(0.11)
        bar.update(2)
    text = shown()
    assert text.startswith("\rvalid: [###############...............] 2/4")
    assert text.endswith("\r" + " " * len("valid: [###############...............] 2/4") + "\r")


def test_off_a_terminal_lines_at_start_every_interval_and_end():
    stream = io.StringIO()
    with Progress("http://host/a.tgz", 1000, describe=megabytes, interval=0.3, stream=stream) as bar:
        bar.update(100)  # too soon for a line
        time.sleep(0.35)
        bar.update(500)
    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["http://host/a.tgz:   0% 0.0 MB", "http://host/a.tgz:  50% 0.0 MB"]
    assert re.fullmatch(r"http://host/a\.tgz:  50% 0\.0 MB, done in \d+\.\d s", lines[2])
    assert len(lines) == 3


def test_off_a_terminal_a_failure_says_stopped_and_without_interval_nothing_is_printed():
    stream = io.StringIO()
    with pytest.raises(ConnectionError):
        with Progress("download", None, interval=10.0, stream=stream) as bar:
            bar.update(3)
            raise ConnectionError
    assert re.fullmatch(r"download: 3, stopped after \d+\.\d s", stream.getvalue().splitlines()[-1])
    quiet = io.StringIO()
    with Progress("epoch", 3, stream=quiet) as bar:
        bar.update(3)
    assert quiet.getvalue() == ""


def test_progress_over_counts_each_item_once_it_is_handled():
    stream = io.StringIO()
    seen = list(progress_over(range(3), "items", interval=0.0, stream=stream))
    assert seen == [0, 1, 2]
    lines = stream.getvalue().splitlines()
    assert lines[:4] == [f"items: {count_bar(i, 3)}" for i in range(4)]


@needs_pty
def test_learner_shows_its_bar_on_a_terminal_and_erases_it(terminal, monkeypatch, capsys):
    stream, shown = terminal
    monkeypatch.setattr(sys, "stderr", stream)
    x = mg.randn(8, 2, generator=mg.Generator(0))
    dls = DataLoaders(DataLoader(TensorDataset(x, x), batch_size=4), DataLoader(TensorDataset(x, x), batch_size=4))
    Learner(dls, Linear(2, 2), mse_loss).fit(1)
    text = shown()
    assert "\repoch 1/1 train: [" in text and "] 2/2" in text and "\repoch 1/1 valid: [" in text
    assert text.endswith("\r")  # erased
    assert capsys.readouterr().out.splitlines()[0].split() == ["epoch", "train_loss", "valid_loss", "time"]
