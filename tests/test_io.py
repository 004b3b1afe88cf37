"""RLE reading and writing (lifegym.io) against Golly/LifeWiki files and round trips."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lifegym.io import read_rle, write_rle
from lifegym.rules import Rule

GLIDER_RLE = "#N Glider\nx = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n"
GLIDER = np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.uint8)

# The Gosper glider gun as LifeWiki and Golly's pattern collection give it: comment lines,
# explicit trailing dead cells, data wrapped at 70 characters.
GOSPER_GUN_RLE = """\
#N Gosper glider gun
#O Bill Gosper
#C A true period 30 glider gun.
#C The first known gun and the first known finite pattern with unbounded growth.
x = 36, y = 9, rule = B3/S23
24bo11b$22bobo11b$12b2o6b2o12b2o$11bo3bo4b2o12b2o$2o8bo5bo3b2o14b$2o8b
o3bob2o4bobo11b$10bo5bo7bo11b$11bo3bo20b$12b2o!
"""

# What Golly writes for the same pattern (trailing dead cells dropped, lines of <= 70).
GOSPER_GUN_GOLLY_OUTPUT = """\
x = 36, y = 9, rule = B3/S23
24bo$22bobo$12b2o6b2o12b2o$11bo3bo4b2o12b2o$2o8bo5bo3b2o$2o8bo3bob2o4b
obo$10bo5bo7bo$11bo3bo$12b2o!
"""


def _error_position(excinfo: pytest.ExceptionInfo[ValueError]) -> tuple[int, int]:
    match = re.search(r"line (\d+), column (\d+)", str(excinfo.value))
    assert match, f"no line/column in {excinfo.value}"
    return int(match.group(1)), int(match.group(2))


# ------------------------------------------------------------------ reading known files


def test_glider() -> None:
    cells, rule = read_rle(GLIDER_RLE)
    assert cells.dtype == np.uint8
    np.testing.assert_array_equal(cells, GLIDER)
    assert rule == Rule.parse("B3/S23")
    assert str(rule) == "B3/S23"


def test_gosper_glider_gun_size_population_and_period() -> None:
    cells, rule = read_rle(GOSPER_GUN_RLE)
    assert cells.shape == (9, 36)  # LifeWiki: bounding box 36x9
    assert int(cells.sum()) == 36  # LifeWiki: 36 cells
    assert str(rule) == "B3/S23"
    assert cells[4, :2].tolist() == [1, 1] and cells[5, :2].tolist() == [1, 1]  # left block
    assert cells[2:4, 34:36].sum() == 4  # right block

    from lifegym.sim import simulate

    world = np.zeros((64, 96), dtype=np.uint8)
    world[2:11, 2:38] = cells
    after_one_period = simulate(rule, world, 30, boundary="dead", record="last")[-1]
    # Period 30: the gun is back in its starting phase and one 5-cell glider has left it.
    assert after_one_period[world == 1].all()
    assert int(after_one_period.sum()) == 36 + 5


def test_multi_line_pattern_with_comments_whitespace_and_golly_forms() -> None:
    text = (
        "#CXRLE Pos=0,0 Gen=0\r\n"
        "#C a made-up pattern\r\n"
        "\r\n"
        "x=5,y=6,rule=b36/s23\r\n"
        "#C a comment between the header and the data\r\n"
        "2o . A$\r\n"  # '.' dead, 'A' alive; spaces between tags
        "  3$  \r\n"  # three more row ends: rows 1 to 3 stay empty
        "5o$o\r\n"
        "b2o!  everything after the bang is ignored: zzz 12\r\n"
        "#C trailing comment\r\n"
    )
    cells, rule = read_rle(text)
    expected = np.zeros((6, 5), dtype=np.uint8)
    expected[0, [0, 1, 3]] = 1
    expected[4, :] = 1
    expected[5, [0, 2, 3]] = 1
    np.testing.assert_array_equal(cells, expected)
    assert rule == Rule.parse("B36/S23")


def test_missing_bang_is_accepted_at_end_of_text() -> None:
    cells, _ = read_rle("x = 3, y = 2\no$\n3o")
    np.testing.assert_array_equal(cells, [[1, 0, 0], [1, 1, 1]])


def test_rows_are_padded_and_trailing_rows_are_dead() -> None:
    cells, rule = read_rle("x = 4, y = 3\nbo!")
    assert rule is None
    expected = np.zeros((3, 4), dtype=np.uint8)
    expected[0, 1] = 1
    np.testing.assert_array_equal(cells, expected)


def test_golly_topology_suffix_is_ignored() -> None:
    _, rule = read_rle("x = 3, y = 3, rule = B3/S23:T64,64\nbob$2bo$3o!")
    assert rule == Rule.parse("B3/S23")
    _, rule = read_rle("x = 1, y = 1, rule = B36/S23:P16,16\no!")
    assert rule == Rule.parse("B36/S23")


def test_rule_comment_used_when_header_has_no_rule() -> None:
    _, rule = read_rle("#r B36/S23\nx = 1, y = 1\no!")
    assert rule == Rule.parse("B36/S23")
    _, rule = read_rle("#r B36/S23\nx = 1, y = 1, rule = B3/S23\no!")
    assert rule == Rule.parse("B3/S23")


def test_hensel_rule_in_header() -> None:
    _, rule = read_rle("x = 1, y = 1, rule = B2-a/S12\no!")
    assert rule == Rule.parse("B2-a/S12")


def test_empty_pattern() -> None:
    cells, _ = read_rle("x = 0, y = 0, rule = B3/S23\n!")
    assert cells.shape == (0, 0)


# ------------------------------------------------------------------ text or path


def test_paths_and_strings(tmp_path: Path) -> None:
    path = tmp_path / "glider.rle"
    path.write_text(GLIDER_RLE)
    for source in (path, str(path)):
        cells, rule = read_rle(source)
        np.testing.assert_array_equal(cells, GLIDER)
        assert str(rule) == "B3/S23"
    # A one-line string starting with the header is text, not a file name.
    cells, _ = read_rle("x = 3, y = 3, rule = B3/S23 bob$2bo$3o!".replace(" bob", "\nbob"))
    np.testing.assert_array_equal(cells, GLIDER)
    cells, _ = read_rle("x = 1, y = 1")
    assert cells.shape == (1, 1)
    # A file whose name starts with 'x' is still a file.
    other = tmp_path / "x.rle"
    other.write_text(GLIDER_RLE)
    np.testing.assert_array_equal(read_rle(str(other))[0], GLIDER)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_rle(str(tmp_path / "nope.rle"))
    with pytest.raises(FileNotFoundError):
        read_rle(tmp_path / "nope.rle")


def test_wrong_argument_type() -> None:
    with pytest.raises(TypeError, match="RLE text"):
        read_rle(42)  # type: ignore[arg-type]


# ------------------------------------------------------------------ errors with line/column


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        # bad headers
        ("bob$2bo$3o!\n", 1, 1, "header"),
        ("#N only comments\n#C here\n", 3, 1, "header"),
        ("x = 3, y = q\nbob!", 1, 12, "height"),
        ("x = 3 y = 3\nbob!", 1, 7, "','"),
        ("x = -3, y = 3\nbob!", 1, 5, "width"),
        ("#N name\nx = 3, y = 3, rul = B3/S23\nbob!", 2, 15, "'rule'"),
        ("x = 3, y = 3, rule =\nbob!", 1, 21, "rule"),
        # bad rule, at the rule's column
        ("x = 3, y = 3, rule = B9/S23\nbob!", 1, 22, "bad rule 'B9/S23'"),
        ("#C c\nx=3,y=3,rule=Bogus\nbob!", 2, 14, "bad rule 'Bogus'"),
        ("#r Bogus\nx = 1, y = 1\no!", 1, 4, "bad rule 'Bogus'"),
        # unknown tag characters
        ("x = 3, y = 1\nboz!", 2, 3, "unknown tag 'z'"),
        ("x = 3, y = 1\nbo\n\n 2B!", 4, 3, "unknown tag 'B'"),
        ("x = 3, y = 1\nbo\n#C no comments inside the data\n", 3, 1, "unknown tag '#'"),
        # a row longer than x
        ("x = 2, y = 1\nbo\no!", 3, 1, "longer than the header's x = 2"),
        ("x = 3, y = 2\n3o$4b!", 2, 4, "row 2 is longer"),
        # more rows than y
        ("x = 1, y = 1\no$o!", 2, 3, "more rows than the header's y = 1"),
        ("x = 3, y = 2\n\nbo\n2$3o!", 4, 3, "more rows"),
        # run counts with no tag
        ("x = 3, y = 1\n3!", 2, 1, "run count 3 before '!'"),
        ("x = 3, y = 1\nb2\no!", 2, 2, "run count 2 has no tag"),
        ("x = 3, y = 1\n2 o!", 2, 1, "run count 2 has no tag"),
        ("x = 3, y = 1\nbo12", 2, 3, "run count 12 has no tag"),
        ("x = 3, y = 1\n0o!", 2, 1, "run count 0"),
    ],
)
def test_errors_name_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as excinfo:
        read_rle(text)
    assert _error_position(excinfo) == (line, column)


# ------------------------------------------------------------------ writing


def test_write_glider_exactly() -> None:
    # Golly writes the glider as bo$2bo$3o!: trailing dead cells are dropped.
    assert write_rle(GLIDER, Rule.parse("B3/S23")) == "x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n"
    assert write_rle(GLIDER, "b3s23") == "x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n"
    assert write_rle(GLIDER) == "x = 3, y = 3\nbo$2bo$3o!\n"


def test_write_gosper_gun_like_golly() -> None:
    cells, rule = read_rle(GOSPER_GUN_RLE)
    assert write_rle(cells, rule) == GOSPER_GUN_GOLLY_OUTPUT


def test_write_merges_empty_rows_and_drops_trailing_ones() -> None:
    cells = np.zeros((7, 4), dtype=bool)
    cells[2, 0] = cells[3, 3] = cells[5, 1] = True
    assert write_rle(cells) == "x = 4, y = 7\n2$o$3bo2$bo!\n"
    assert write_rle(np.zeros((3, 5), dtype=np.int64)) == "x = 5, y = 3\n!\n"
    assert write_rle(np.ones((2, 3), dtype=np.int8)) == "x = 3, y = 2\n3o$3o!\n"
    assert write_rle(np.zeros((0, 0), dtype=np.uint8)) == "x = 0, y = 0\n!\n"


def test_write_wraps_at_70_without_splitting_counts() -> None:
    rng = np.random.default_rng(0)
    cells = (rng.random((60, 300)) < 0.3).astype(np.uint8)
    cells[:, 100:250] = 0  # long dead runs: multi-digit counts
    cells[10, 140:260] = 1  # long live run
    text = write_rle(cells, "B3/S23")
    data_lines = text.splitlines()[1:]
    assert len(data_lines) > 10
    assert all(len(line) <= 70 for line in data_lines)
    assert not any(line[-1].isdigit() for line in data_lines)  # a count always meets its tag
    assert text.endswith("!\n")
    np.testing.assert_array_equal(read_rle(text)[0], cells)


@pytest.mark.parametrize(
    ("array", "error", "message"),
    [
        (np.zeros((2, 2, 2), dtype=np.uint8), ValueError, "2-D"),
        (np.zeros(5, dtype=np.uint8), ValueError, "2-D"),
        (np.array([[0, 2]]), ValueError, "only 0 (dead) and 1 (alive)"),
        (np.array([[0, -1]]), ValueError, "only 0 (dead) and 1 (alive)"),
        (np.array([[0.0, 1.0]]), TypeError, "bool or integer"),
        (np.array([["a"]]), TypeError, "bool or integer"),
    ],
)
def test_write_rejects_bad_arrays(array: np.ndarray, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        write_rle(array)


def test_write_rejects_bad_rules() -> None:
    with pytest.raises(ValueError):
        write_rle(GLIDER, "B9/S23")
    with pytest.raises(TypeError, match="rule must be"):
        write_rle(GLIDER, 23)  # type: ignore[arg-type]


# ------------------------------------------------------------------ round trip


def _map_rule(table_bytes: bytes) -> str:
    """A Golly MAP rule string for 512 table bits given as 64 bytes."""
    return "MAP" + base64.b64encode(table_bytes).decode().rstrip("=")


@st.composite
def _grids(draw: st.DrawFn) -> np.ndarray:
    shape = draw(st.tuples(st.integers(1, 90), st.integers(1, 90)))
    kind = draw(st.sampled_from(["random", "empty", "full", "sparse"]))
    if kind == "empty":
        return np.zeros(shape, dtype=np.uint8)
    if kind == "full":
        return np.ones(shape, dtype=np.uint8)
    seed = draw(st.integers(0, 2**32 - 1))
    density = 0.02 if kind == "sparse" else draw(st.floats(0.0, 1.0))
    rng = np.random.default_rng(seed)
    return (rng.random(shape) < density).astype(np.uint8)


_RULE_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["B3/S23", "B36/S23", "B2/S", "B3/S012345678", "B2-a/S12", "B3/S2-i34q"]),
    st.binary(min_size=64, max_size=64).map(_map_rule),
)


@settings(max_examples=150, deadline=None)
@given(cells=_grids(), rule_text=_RULE_TEXTS)
def test_round_trip(cells: np.ndarray, rule_text: str | None) -> None:
    rule = None if rule_text is None else Rule.parse(rule_text)
    text = write_rle(cells, rule)
    assert all(len(line) <= 70 for line in text.splitlines()[1:])
    read_cells, read_rule = read_rle(text)
    assert read_cells.dtype == np.uint8
    np.testing.assert_array_equal(read_cells, cells)
    assert read_rule == rule


@settings(max_examples=50, deadline=None)
@given(cells=hnp.arrays(np.bool_, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12)))
def test_round_trip_small_bool_arrays(cells: np.ndarray) -> None:
    read_cells, read_rule = read_rle(write_rle(cells))
    np.testing.assert_array_equal(read_cells, cells.astype(np.uint8))
    assert read_rule is None
