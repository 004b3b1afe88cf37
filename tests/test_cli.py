"""The ``lifegym`` command line, run in-process through ``main`` and once as ``python -m``."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lifegym.cli import _progress_bar, main
from lifegym.io import write_rle
from lifegym.rules import Rule
from lifegym.sim import simulate

GLIDER = np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.uint8)


def _gif_frames(path: Path) -> list[np.ndarray]:
    """The frames of a GIF as arrays of 0/1 (white = alive)."""
    frames = []
    with Image.open(path) as image:
        for index in range(image.n_frames):
            image.seek(index)
            frames.append((np.asarray(image.convert("L")) > 127).astype(np.uint8))
    return frames


def _png_cells(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return (np.asarray(image.convert("L")) > 127).astype(np.uint8)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------ successful runs


def test_soup_gif_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gif, png = tmp_path / "run.gif", tmp_path / "final.png"
    code, out, err = _run(
        capsys, "simulate", "--size", "32x48", "--steps", "25", "--every", "4", "--seed", "7",
        "--gif", str(gif), "--png", str(png), "--scale", "1",
    )  # fmt: skip
    assert code == 0, err
    assert err == ""  # no progress bar for a short run into a non-terminal
    frames = _gif_frames(gif)
    assert len(frames) == 8  # steps 0, 4, ..., 24 and the last, 25
    assert frames[0].shape == (32, 48)
    rng = np.random.default_rng(7)
    init = (rng.random((32, 48)) < 0.35).astype(np.uint8)
    expected = simulate("B3/S23", init, 25, record=4)
    np.testing.assert_array_equal(np.stack(frames), expected)
    np.testing.assert_array_equal(_png_cells(png), expected[-1])
    assert "rule        B3/S23" in out
    assert "grid        32x48 (torus)" in out
    assert f"population  {int(init.sum())} at step 0, {int(expected[-1].sum())} at step 25" in out
    assert "cell-updates/s" in out
    assert str(gif) in out and str(png) in out


def test_png_of_rle_pattern_matches_simulate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(1)
    pattern = (rng.random((20, 28)) < 0.4).astype(np.uint8)
    rle = tmp_path / "soup.rle"
    rle.write_text(write_rle(pattern, "B36/S23"))
    png = tmp_path / "final.png"
    code, out, err = _run(
        capsys, "simulate", "--rle", str(rle), "--size", "20x28", "--steps", "37",
        "--png", str(png), "--scale", "1", "--boundary", "dead",
    )  # fmt: skip
    assert code == 0, err
    expected = simulate("B36/S23", pattern, 37, boundary="dead", record="last")[-1]
    np.testing.assert_array_equal(_png_cells(png), expected)
    assert "rule        B36/S23" in out  # the rule from the RLE header
    assert not (tmp_path / "lifegym-simulate.gif").exists()


def test_chunked_run_matches_one_simulate_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A glider never stands still, so every GIF frame is kept and can be compared."""
    rle = tmp_path / "glider.rle"
    rle.write_text(write_rle(GLIDER, "B3/S23"))
    gif = tmp_path / "glider.gif"
    code, _, err = _run(
        capsys, "simulate", "--rle", str(rle), "--size", "12x16", "--steps", "203",
        "--every", "7", "--gif", str(gif), "--scale", "1",
    )  # fmt: skip
    assert code == 0, err
    init = np.zeros((12, 16), dtype=np.uint8)
    init[4:7, 6:9] = GLIDER  # centred
    expected = simulate("B3/S23", init, 203, record=7)
    frames = _gif_frames(gif)
    assert len(frames) == len(expected) == 30  # 0, 7, ..., 203
    np.testing.assert_array_equal(np.stack(frames), expected)


def test_rle_grid_defaults_and_rule_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rle = tmp_path / "glider.rle"
    rle.write_text(write_rle(GLIDER, "B36/S23"))
    png = tmp_path / "out.png"
    code, out, err = _run(
        capsys, "simulate", "--rle", str(rle), "--rule", "B3/S23", "--steps", "4",
        "--png", str(png), "--scale", "1",
    )  # fmt: skip
    assert code == 0, err
    assert "rule        B3/S23" in out
    assert "grid        64x64" in out
    cells = _png_cells(png)
    assert cells.shape == (64, 64)
    # After 4 steps a glider is itself again, one cell down and right.
    expected = np.zeros((64, 64), dtype=np.uint8)
    expected[31:34, 31:34] = GLIDER
    np.testing.assert_array_equal(cells, expected)


def test_rle_without_rule_runs_life(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rle = tmp_path / "block.rle"
    rle.write_text("x = 2, y = 2\n2o$2o!\n")
    code, out, _ = _run(
        capsys, "simulate", "--rle", str(rle), "--steps", "3", "--png", str(tmp_path / "b.png")
    )
    assert code == 0
    assert "rule        B3/S23" in out
    assert "population  4 at step 0, 4 at step 3" in out


def test_default_run_is_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "simulate")
    assert code == 0, err
    gif = tmp_path / "lifegym-simulate.gif"
    assert gif.is_file()
    with Image.open(gif) as image:
        assert image.size == (512, 512)  # 256x256 cells, 2 px each
        assert image.n_frames == 168  # steps 0, 3, ..., 498 and 500
        assert image.info["loop"] == 0
    assert "grid        256x256 (torus), random soup, density 0.35, seed 0" in out
    assert "steps       500" in out


def test_help_mentions_the_default_gif(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "simulate", "--help")
    assert code == 0
    assert "lifegym-simulate.gif" in out
    assert "--every" in out and "--boundary" in out


def test_version_and_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--version")
    assert code == 0 and out.startswith("lifegym ")
    code, _, err = _run(capsys)
    assert code == 2
    assert "simulate" in err


def test_steps_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gif = tmp_path / "still.gif"
    code, out, err = _run(capsys, "simulate", "--size", "8x8", "--steps", "0", "--gif", str(gif))
    assert code == 0, err
    with Image.open(gif) as image:
        assert image.n_frames == 1
    assert "steps       0" in out


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--rule", "B9/S23"], "'B9/S23'"),
        (["--rule", "banana"], "'banana'"),
        (["--size", "0x5"], "invalid size '0x5'"),
        (["--size", "abc"], "invalid size 'abc'"),
        (["--size", "12x"], "invalid size '12x'"),
        (["--density", "1.5"], "invalid density '1.5'"),
        (["--density", "-0.1"], "invalid density '-0.1'"),
        (["--density", "nan"], "invalid density 'nan'"),
        (["--density", "lots"], "invalid density 'lots'"),
        (["--steps", "-1"], "invalid steps '-1'"),
        (["--steps", "ten"], "invalid steps 'ten'"),
        (["--every", "0"], "invalid --every '0'"),
        (["--scale", "0"], "invalid --scale '0'"),
        (["--boundary", "klein"], "invalid choice: 'klein'"),
        (["--rle", "missing.rle"], "no such file 'missing.rle'"),
        (["--rle", "x.rle", "--density", "0.5"], "not allowed with argument"),
        (["--gif", "no/such/dir/out.gif"], "directory 'no/such/dir' does not exist"),
        (["--png", "no/such/dir/out.png"], "directory 'no/such/dir' does not exist"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_arguments(
    argv: list[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "simulate", "--size", "8x8", "--steps", "2", *argv)
    assert code == 2
    assert expected in err
    assert err.startswith("lifegym") and ": error: " in err
    assert err.count("\n") == 1  # one line, no usage block, no traceback
    assert out == ""
    assert not (tmp_path / "lifegym-simulate.gif").exists()


def test_bad_rle_file_and_pattern_too_big(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.rle"
    bad.write_text("x = 3, y = 1\nboz!\n")
    code, _, err = _run(capsys, "simulate", "--rle", str(bad), "--steps", "1")
    assert code == 2
    assert "line 2, column 3" in err and "unknown tag 'z'" in err
    assert err.count("\n") == 1

    big = tmp_path / "big.rle"
    big.write_text(write_rle(np.ones((10, 20), dtype=np.uint8)))
    code, _, err = _run(capsys, "simulate", "--rle", str(big), "--size", "16x16", "--steps", "1")
    assert code == 2
    assert "10x20 (HxW) and does not fit in 16x16" in err
    assert err.count("\n") == 1


# ------------------------------------------------------------------ progress bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal() -> None:
    stream = _Terminal()
    bar = _progress_bar(500, stream, patience=0.0)
    bar.update(260)
    bar.update(240)
    bar.close()
    text = stream.getvalue()
    assert "500/500" in text and "steps" in text and text.endswith("\n")


def test_progress_bar_silent_for_short_runs_into_files() -> None:
    stream = io.StringIO()
    bar = _progress_bar(500, stream)
    bar.update(500)
    bar.close()
    assert stream.getvalue() == ""
    slow = _progress_bar(500, stream, unit="episodes", patience=0.0)  # a long run: shown
    slow.update(500)
    slow.close()
    assert "500/500" in stream.getvalue() and "episodes" in stream.getvalue()


# ------------------------------------------------------------------ python -m lifegym


def test_python_dash_m(tmp_path: Path) -> None:
    gif = tmp_path / "out.gif"
    result = subprocess.run(
        [sys.executable, "-m", "lifegym", "simulate", "--size", "32x32", "--steps", "10",
         "--gif", str(gif)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "cell-updates/s" in result.stdout
    with Image.open(gif) as image:
        assert image.n_frames == 11
        assert image.size == (512, 512)  # 32x32 cells, 16 px each


def test_rule_objects_print_canonically(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "simulate", "--rule", "b36s23", "--size", "8x8", "--steps", "1",
        "--png", str(tmp_path / "x.png"),
    )  # fmt: skip
    assert code == 0
    assert f"rule        {Rule.parse('B36/S23')}" in out


# ------------------------------------------------------------------ lifegym.pictures, used above


def test_frame_to_rgb() -> None:
    from lifegym.pictures import frame_to_rgb

    frame = np.array([[0, 1], [1, 0]], dtype=bool)
    rgb = frame_to_rgb(frame, scale=3, alive=(255, 0, 0), dead=(0, 0, 255))
    assert rgb.shape == (6, 6, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [0, 0, 255] and rgb[2, 3].tolist() == [255, 0, 0]
    np.testing.assert_array_equal(rgb[::3, ::3, 0] == 255, frame)
    assert frame_to_rgb(frame).shape == (2, 2, 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"frame": np.zeros((2, 2, 2), dtype=np.uint8)}, ValueError, "2-D"),
        ({"frame": np.array([[0, 3]])}, ValueError, "only 0 (dead) and 1 (alive)"),
        ({"frame": np.array([[0.5]])}, TypeError, "bool or integer"),
        ({"scale": 0}, ValueError, "scale must be a positive integer"),
        ({"scale": 1.5}, ValueError, "scale must be a positive integer"),
        ({"alive": (256, 0, 0)}, ValueError, "alive must be an (r, g, b) triple"),
        ({"dead": (0, 0)}, ValueError, "dead must be an (r, g, b) triple"),
    ],
)
def test_frame_to_rgb_rejects_bad_input(kwargs: dict, error: type, message: str) -> None:
    from lifegym.pictures import frame_to_rgb

    arguments = {"frame": np.zeros((2, 2), dtype=np.uint8), **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        frame_to_rgb(**arguments)


def test_auto_scale_and_gif_checks(tmp_path: Path) -> None:
    from lifegym.pictures import auto_scale, write_gif

    assert auto_scale(3, 3) == 170
    assert auto_scale(256, 100) == 2
    assert 256 < 257 * auto_scale(257, 257) <= 512
    assert auto_scale(5000, 5000) == 1
    with pytest.raises(ValueError, match="3-D"):
        write_gif(np.zeros((4, 4), dtype=np.uint8), tmp_path / "x.gif")
    with pytest.raises(ValueError, match="fps must be positive"):
        write_gif(np.zeros((1, 4, 4), dtype=np.uint8), tmp_path / "x.gif", fps=0)
