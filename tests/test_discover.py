"""``lifegym discover``: one episode on every preset, its printed steps and the GIF."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
from examples import first_rule
from PIL import Image

from lifegym.cli import main
from lifegym.registration import PRESETS
from lifegym.rules import Rule

# The two presets whose episodes take seconds (512 bits; 102 bits from statistics) are
# played by every agent in tests/test_agents.py; here the command line is what is tested.
SLOW = {"lifegym/Free-Noisy-v1", "lifegym/Isotropic-Stats-v1"}


@pytest.mark.parametrize("env_id", sorted(set(PRESETS) - SLOW))
def test_discover_runs_on_every_preset(env_id: str, tmp_path: Path, capsys) -> None:
    gif = tmp_path / "episode.gif"
    family = gym.make(env_id).unwrapped.space.family
    rule = first_rule(family.name)
    assert main(["discover", "--env", env_id, "--rule", rule, "--gif", str(gif)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{env_id}, agent infogain, seed 0")
    assert out[1].lstrip().startswith("1  request ")
    assert any("submit" in line for line in out)
    assert f"hidden rule {Rule.parse(rule).to(family)}" in "\n".join(out)
    with Image.open(gif) as image:
        assert image.n_frames >= 2


def test_discover_prints_test_evidence(tmp_path: Path, capsys) -> None:
    gif = tmp_path / "episode.gif"
    assert main(["discover", "--agent", "random", "--seed", "4", "--gif", str(gif)]) == 0
    out = capsys.readouterr().out
    assert "log-odds" in out  # the random agent tests bits before it submits
    assert "(expected" in out or out.count("log-odds") > 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "lifegym/Nope-v0"], "unknown env 'lifegym/Nope-v0'"),
        (["--agent", "genius"], "unknown agent 'genius'"),
        (["--rule", "B9/S"], "'B9/S'"),
        (["--env", "lifegym/LifeLike-Noisy-v0", "--rule", "B2-a/S12"], "B2-a/S12"),
        (["--gif", "/no/such/dir/x.gif"], "does not exist"),
    ],
)
def test_discover_errors_name_the_bad_value(argv: list[str], message: str, capsys) -> None:
    assert main(["discover", *argv]) == 2
    assert message in capsys.readouterr().err


def test_rgb_gif_checks_its_images(tmp_path: Path) -> None:
    import numpy as np

    from lifegym.pictures import write_rgb_gif

    good = np.zeros((4, 5, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="at least one"):
        write_rgb_gif([], tmp_path / "a.gif")
    with pytest.raises(ValueError, match=r"images\[1\] must be uint8 \(H, W, 3\)"):
        write_rgb_gif([good, good[..., 0]], tmp_path / "a.gif")
    with pytest.raises(ValueError, match=r"images\[1\] has shape"):
        write_rgb_gif([good, np.zeros((5, 5, 3), dtype=np.uint8)], tmp_path / "a.gif")
    write_rgb_gif([good, good + 255], tmp_path / "a.gif")
    with Image.open(tmp_path / "a.gif") as image:
        assert image.n_frames == 2 and image.size == (5, 4)
