"""Plaintext reading and writing, and parse_cells: grids typed by a person or an agent."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lifegym.cells import as_cells
from lifegym.io import parse_cells, read_plaintext, read_rle, write_plaintext, write_rle

GLIDER = np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.uint8)

# LifeWiki's plaintext example: a name line, an empty comment line, then the rows.
GLIDER_CELLS = "!Name: Glider\n!\n.O.\n..O\nOOO\n"

GOSPER_GUN_CELLS = """\
!Name: Gosper glider gun
!
........................O...........
......................O.O...........
............OO......OO............OO
...........O...O....OO............OO
OO........O.....O...OO..............
OO........O...O.OO....O.O...........
..........O.....O.......O...........
...........O...O....................
............OO......................
"""

GOSPER_GUN_RLE = """\
#N Gosper glider gun
x = 36, y = 9, rule = B3/S23
24bo$22bobo$12b2o6b2o12b2o$11bo3bo4b2o12b2o$2o8bo5bo3b2o$2o8bo3bob2o4b
obo$10bo5bo7bo$11bo3bo$12b2o!
"""


# ------------------------------------------------------------------ read_plaintext


def test_read_plaintext_glider_and_gosper_gun() -> None:
    cells = read_plaintext(GLIDER_CELLS)
    assert cells.dtype == np.uint8
    np.testing.assert_array_equal(cells, GLIDER)
    gun = read_plaintext(GOSPER_GUN_CELLS)
    assert gun.shape == (9, 36)
    np.testing.assert_array_equal(gun, read_rle(GOSPER_GUN_RLE)[0])


def test_read_plaintext_alive_characters() -> None:
    for alive in "Oo*":
        np.testing.assert_array_equal(read_plaintext(f".{alive}.\n..{alive}\n{alive * 3}"), GLIDER)
    np.testing.assert_array_equal(read_plaintext(".O.\n..*\noOo"), GLIDER)


def test_read_plaintext_padding_blank_rows_and_comments_anywhere() -> None:
    text = (
        "\n\n!Name: made up\n"
        "\n"  # blank lines before the first row are not rows
        "O\n"  # a short row, padded with dead cells
        "\n"  # a blank line inside: a row of dead cells
        "   \n"  # whitespace only: also a dead row
        "!a comment between rows is not a row\n"
        "..O.O  \n"  # trailing whitespace ignored
        ".\n"
        "\n\n!trailing comment\n\n"  # blank lines after the last row are not rows
    )
    expected = np.zeros((5, 5), dtype=np.uint8)
    expected[0, 0] = 1
    expected[3, [2, 4]] = 1
    np.testing.assert_array_equal(read_plaintext(text), expected)


def test_read_plaintext_windows_line_endings() -> None:
    np.testing.assert_array_equal(read_plaintext(GLIDER_CELLS.replace("\n", "\r\n")), GLIDER)
    np.testing.assert_array_equal(read_plaintext(".O.\r\n..O\r\nOOO"), GLIDER)
    np.testing.assert_array_equal(read_plaintext("O\r\n\r\n.O\r\n"), [[1, 0], [0, 0], [0, 1]])


def test_read_plaintext_common_indentation_is_removed() -> None:
    text = """
        !Name: Glider
        .O.
        ..O
        OOO
    """
    np.testing.assert_array_equal(read_plaintext(text), GLIDER)
    # Only the indentation every row shares goes: a deeper one is an error.
    with pytest.raises(ValueError, match=r"line 2, column 3: unknown character ' '"):
        read_plaintext("  .O.\n    ..O")


@pytest.mark.parametrize(
    ("text", "line", "column", "char"),
    [
        (".O.\n.x.\nOOO", 2, 2, "'x'"),
        ("!Name: Glider\r\n!\r\n.O.\r\n..0\r\n", 4, 3, "'0'"),  # a zero, not an O
        ("  .O.\n  .O#", 2, 5, "'#'"),  # columns count the indentation
        ("#C an RLE comment\n.O.", 1, 1, "'#'"),
        (".O.\tO", 1, 4, "'\\t'"),
        ("bo$2bo$3o!", 1, 1, "'b'"),
        (".O. O", 1, 4, "' '"),
        (".é.", 1, 2, "'é'"),
    ],
)
def test_read_plaintext_unknown_character(text: str, line: int, column: int, char: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        read_plaintext(text)
    message = str(excinfo.value)
    assert f"line {line}, column {column}: unknown character {char}" in message
    assert "'.' (dead)" in message and "'O', 'o' or '*' (alive)" in message
    assert "'!'" in message  # how to write a comment


@pytest.mark.parametrize("text", ["", "\n\n", "   \r\n  ", "!Name: nothing\n!\n"])
def test_read_plaintext_without_rows(text: str) -> None:
    with pytest.raises(ValueError, match="holds no cells"):
        read_plaintext(text)


def test_read_plaintext_wants_text() -> None:
    with pytest.raises(TypeError, match="plaintext"):
        read_plaintext(b".O.")  # type: ignore[arg-type]


# ------------------------------------------------------------------ write_plaintext


def test_write_plaintext_exactly() -> None:
    assert write_plaintext(GLIDER) == ".o.\n..o\nooo"
    # Every row is written in full: trailing dead cells and dead rows are kept.
    assert write_plaintext(np.zeros((2, 3), dtype=bool)) == "...\n..."
    assert write_plaintext([[1], [0]]) == "o\n."


@pytest.mark.parametrize(
    ("array", "error", "message"),
    [
        (np.zeros((2, 2, 2), dtype=np.uint8), ValueError, "shape (2, 2, 2)"),
        (np.array([[0, 2]]), ValueError, "found 2 at index (0, 1)"),
        (np.zeros((0, 3), dtype=np.uint8), ValueError, "shape (0, 3)"),
        (np.array([[0.0, 1.0]]), TypeError, "bool or integer"),
    ],
)
def test_write_plaintext_rejects_bad_arrays(array: np.ndarray, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        write_plaintext(array)


# ------------------------------------------------------------------ parse_cells: arrays


def test_parse_cells_lists_and_arrays() -> None:
    for value in (
        GLIDER.tolist(),
        tuple(tuple(row) for row in GLIDER.tolist()),
        GLIDER.astype(bool),
        GLIDER.astype(np.int64),
        GLIDER.astype(np.int8),
        GLIDER.astype(np.uint16),
        GLIDER.astype(np.float32),  # floats holding only 0.0 and 1.0 are fine
        GLIDER.astype(float).tolist(),
        [[False, True, False], [False, False, True], [True, True, True]],
        [np.array([0, 1, 0]), np.array([0, 0, 1]), np.array([1, 1, 1])],
        np.asfortranarray(GLIDER),
        np.kron(GLIDER, np.ones((1, 2), dtype=np.uint8))[:, ::2],  # not contiguous
        np.array(GLIDER.tolist(), dtype=object),
    ):
        cells = parse_cells(value)
        assert cells.dtype == np.uint8
        assert cells.flags.c_contiguous
        np.testing.assert_array_equal(cells, GLIDER)


def test_parse_cells_returns_a_new_array() -> None:
    original = GLIDER.copy()
    cells = parse_cells(original)
    assert not np.shares_memory(cells, original)
    cells[0, 0] = 1
    assert original[0, 0] == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # wrong number of dimensions: the shape
        (np.zeros((2, 2, 2), dtype=np.uint8), "shape (2, 2, 2)"),
        ([0, 1, 1], "shape (3,)"),
        (np.array(1, dtype=np.uint8), "shape ()"),
        # values other than 0/1: the first one and its index
        ([[0, 1], [2, 0]], "found 2 at index (1, 0)"),
        (np.array([[0, -1]], dtype=np.int16), "found -1 at index (0, 1)"),
        (np.array([[0.0, 1.0], [1.0, 0.5]]), "found 0.5 at index (1, 1)"),
        ([[0.0, float("nan")]], "found nan at index (0, 1)"),
        ([[1.0, float("inf")]], "found inf at index (0, 1)"),
        ([[0, 2**70]], "at index (0, 1)"),
        # not numbers
        ([[".", "O"]], "found '.' (str) at index (0, 0)"),
        ([[0, None]], "found None (NoneType) at index (0, 1)"),
        (np.array([[1 + 0j]]), "dtype complex128"),
        # ragged rows
        ([[0, 1, 0], [1, 1]], "row 0 has 3 cells but row 1 has 2"),
        ([[0, 1], 1], "row 1 is 1"),
        # empty
        ([], "empty (shape (0,))"),
        ([[]], "empty (shape (1, 0))"),
        (np.zeros((3, 0), dtype=bool), "empty (shape (3, 0))"),
    ],
)
def test_parse_cells_rejects_bad_arrays(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_cells(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, 42, b".O.", {"cells": [[1]]}])
def test_parse_cells_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="RLE text or plaintext"):
        parse_cells(value)  # type: ignore[arg-type]


# ------------------------------------------------------------------ parse_cells: text


@pytest.mark.parametrize(
    "text",
    [
        GLIDER_CELLS,
        GLIDER_CELLS.replace("\n", "\r\n"),
        ".O.\n..O\nOOO",
        ".o.\n..o\nooo",
        "x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n",
        "#N Glider\r\nx = 3, y = 3\r\nbo$2bo$3o!\r\n",
        "x=3,y=3\nbob$2bo$3o",  # missing '!' after a header: Golly reads to the end
        "bo$2bo$3o!",  # a bare body
        "bo$2bo$3o$!",  # row ends after the last cell add no rows
        "bo$\n2bo$\n3o\n!",
        "#C a comment\nbo$2bo$3o!",
        "bo$2bo$3o",  # '$' marks RLE even without '!'
        "  x = 3, y = 3\n  bo$2bo$3o!",
        """
        x = 3, y = 3, rule = B3/S23
        bo$2bo$3o!
        """,
        """
        .O.
        ..O
        OOO
        """,
    ],
)
def test_parse_cells_reads_rle_and_plaintext(text: str) -> None:
    cells = parse_cells(text)
    assert cells.dtype == np.uint8 and cells.flags.c_contiguous
    np.testing.assert_array_equal(cells, GLIDER)


def test_parse_cells_text_shapes() -> None:
    # The header's box is the grid, dead margins included.
    np.testing.assert_array_equal(parse_cells("x = 4, y = 2\nbo!"), [[0, 1, 0, 0], [0, 0, 0, 0]])
    # A bare body reaches the longest row, explicit dead cells included, and leading empty rows.
    np.testing.assert_array_equal(parse_cells("ob$o!"), [[1, 0], [1, 0]])
    np.testing.assert_array_equal(parse_cells("2$2bo!"), [[0, 0, 0], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(parse_cells("3o"), [[1, 1, 1]])  # a count marks RLE
    # Plaintext pads short rows.
    np.testing.assert_array_equal(parse_cells("O\n\n..O"), [[1, 0, 0], [0, 0, 0], [0, 0, 1]])


def test_parse_cells_ignores_the_rle_rule() -> None:
    expected = parse_cells("x = 3, y = 3\nbo$2bo$3o!")
    for rule in ("B36/S23", "B3/S23:T64,64", "LifeHistory", "B9/S23"):
        cells = parse_cells(f"#r {rule}\nx = 3, y = 3, rule = {rule}\nbo$2bo$3o!")
        np.testing.assert_array_equal(cells, expected)
    # read_rle still checks the rule.
    with pytest.raises(ValueError, match="bad rule 'B9/S23'"):
        read_rle("x = 3, y = 3, rule = B9/S23\nbo$2bo$3o!")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # unknown plaintext characters: the character, its line and column, what is allowed
        (".O.\n..X\nOOO", "line 2, column 3: unknown character 'X'"),
        ("!Name: g\r\n.O.\r\n..o\r\nOO@\r\n", "line 4, column 3: unknown character '@'"),
        ("#C comment\n.O.", "unknown character '#' (comment lines start with '!'"),
        ("bob", "unknown character 'b'"),
        # bad RLE: line and column
        ("bo$2bo$3oz!", "RLE line 1, column 10: unknown tag 'z'"),
        ("x = 2, y = 1\n3o!", "RLE line 2, column 1: row 1 is longer than the header's x = 2"),
        ("x = 3, y = 3, rule = \nbo!", "a rule such as B3/S23"),
        # empty
        ("", "plaintext '' holds no cells"),
        ("  \r\n\n", "holds no cells"),
        ("!Name: nothing\n", "holds no cells"),
        ("x = 0, y = 0\n!", "holds no cells (shape (0, 0))"),
        ("x = 3, y = 0\n!", "holds no cells (shape (0, 3))"),
        ("2$!", "holds no cells (shape (0, 0))"),
    ],
)
def test_parse_cells_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_cells(text)


def test_parse_cells_plaintext_error_lists_allowed_characters() -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_cells(".O.\n.+.")
    message = str(excinfo.value)
    assert "'+'" in message
    for allowed in ("'.' (dead)", "'O', 'o' or '*' (alive)", "'!'"):
        assert allowed in message


# ------------------------------------------------------------------ parse_cells: max_shape


def test_parse_cells_max_shape() -> None:
    np.testing.assert_array_equal(parse_cells(GLIDER, max_shape=(3, 3)), GLIDER)
    for value in (
        np.zeros((4, 3), dtype=np.uint8),
        [[0] * 3] * 4,
        "...\n...\n...\n..O",
        "x = 3, y = 4\n!",
        "3$2bo!",
    ):
        with pytest.raises(ValueError) as excinfo:
            parse_cells(value, max_shape=(3, 3))
        message = str(excinfo.value)
        assert "(4, 3)" in message and "max_shape (3, 3)" in message
    with pytest.raises(ValueError, match=re.escape("shape (3, 10) do not fit max_shape (5, 5)")):
        parse_cells("10o$$o!", max_shape=(5, 5))


def test_parse_cells_max_shape_is_checked_before_allocating() -> None:
    start = time.perf_counter()
    for text in ("x = 1000000000, y = 1000000000\no!", "999999999999$999999999999bo!"):
        with pytest.raises(ValueError, match=re.escape("do not fit max_shape (64, 64)")):
            parse_cells(text, max_shape=(64, 64))
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("max_shape", [(0, 3), (3,), (3, 3, 3), (2.0, 3), (True, 3), 5, "3x3"])
def test_parse_cells_rejects_bad_max_shape(max_shape: object) -> None:
    with pytest.raises(ValueError, match=re.escape(f"got {max_shape!r}")):
        parse_cells(GLIDER, max_shape=max_shape)  # type: ignore[arg-type]


# ------------------------------------------------------------------ as_cells(allow_float=True)


def test_as_cells_floats_only_when_allowed() -> None:
    floats = GLIDER.astype(np.float64)
    with pytest.raises(TypeError, match="bool or integer"):
        as_cells(floats, "x", {2: "(H, W)"})
    np.testing.assert_array_equal(as_cells(floats, "x", {2: "(H, W)"}, allow_float=True), GLIDER)
    with pytest.raises(TypeError, match="bool, integer or float"):
        as_cells(np.array([["a"]]), "x", {2: "(H, W)"}, allow_float=True)
    with pytest.raises(ValueError, match=re.escape("found -0.5 at index (2, 0)")):
        as_cells(np.array([[0.0], [1.0], [-0.5]]), "x", {2: "(H, W)"}, allow_float=True)


# ------------------------------------------------------------------ round trips


@st.composite
def _grids(draw: st.DrawFn) -> np.ndarray:
    shape = draw(st.tuples(st.integers(1, 30), st.integers(1, 30)))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.sampled_from([0.0, 0.05, 0.5, 1.0]))
    return (np.random.default_rng(seed).random(shape) < density).astype(np.uint8)


@settings(max_examples=100, deadline=None)
@given(cells=_grids())
def test_plaintext_round_trip(cells: np.ndarray) -> None:
    # write_plaintext writes every row in full, so the shape survives exactly.
    text = write_plaintext(cells)
    np.testing.assert_array_equal(read_plaintext(text), cells)
    np.testing.assert_array_equal(read_plaintext(text.replace("\n", "\r\n")), cells)
    np.testing.assert_array_equal(parse_cells(text), cells)


@settings(max_examples=100, deadline=None)
@given(cells=_grids(), rule=st.sampled_from([None, "B3/S23", "B36/S23"]))
def test_rle_round_trip_through_parse_cells(cells: np.ndarray, rule: str | None) -> None:
    # write_rle drops trailing dead cells and rows, but its header keeps the shape.
    parsed = parse_cells(write_rle(cells, rule))
    assert parsed.dtype == np.uint8
    np.testing.assert_array_equal(parsed, cells)


@settings(max_examples=100, deadline=None)
@given(cells=_grids())
def test_bare_rle_body_keeps_the_live_cells(cells: np.ndarray) -> None:
    # Without the header a body's grid ends at its last live row and column (write_rle drops
    # trailing dead cells and rows): the live cells agree, the dead margin is gone.
    assume(cells.any())
    body = write_rle(cells).split("\n", 1)[1]
    parsed = parse_cells(body)
    rows, columns = np.nonzero(cells)
    assert parsed.shape == (rows.max() + 1, columns.max() + 1)
    np.testing.assert_array_equal(parsed, cells[: parsed.shape[0], : parsed.shape[1]])
