"""Patterns as text: RLE and plaintext (the formats Golly and LifeWiki use), and one parser
for a grid a person or an agent gives.

:func:`parse_cells` is the entry point wherever a grid is typed or submitted: it takes a 0/1
array or nested list, RLE text or plaintext, and returns a uint8 array or a ``ValueError`` that
says what to fix. The readers and writers below are the formats it understands.

An RLE file holds optional ``#`` comment lines, a header ``x = <width>, y = <height>[, rule =
<rule>]`` and run-length encoded rows: ``b`` (or ``.``) is a dead cell, ``o`` (or ``A``, Golly's
extended form) a live one, ``$`` ends a row and ``!`` ends the pattern; a number before a tag
repeats it. Example, a glider::

    #N Glider
    x = 3, y = 3, rule = B3/S23
    bob$2bo$3o!

Only two-state patterns are supported. Reading follows Golly where Golly is lenient (comments,
missing ``!``, text after ``!``) and is strict where Golly silently guesses (cells outside the
declared box, unknown characters): those raise ``ValueError`` naming the line and column.

A plaintext file (``.cells``) draws the pattern: one line per row, ``.`` a dead cell, ``O`` a
live one (``o`` and ``*`` are read too), lines starting with ``!`` are comments. The glider::

    !Name: Glider
    .O.
    ..O
    OOO
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lifegym.cells import as_cells
from lifegym.rules import Rule

__all__ = ["parse_cells", "read_plaintext", "read_rle", "write_plaintext", "write_rle"]

#: What :func:`parse_cells` reads: a 0/1 grid (numpy array or rows of cells), RLE or plaintext.
CellsLike = str | np.ndarray | Sequence[Sequence[int | float | bool]]

#: Longest data line :func:`write_rle` writes (Golly's limit too).
MAX_LINE_LENGTH = 70

_DEAD_TAGS = "b."
_ALIVE_TAGS = "oA"
_TOKEN = re.compile(r"\s+|(\d+)|(.)")
_LOOKS_LIKE_RLE = re.compile(r"\s*(#|x\s*=)")
_RULE_COMMENT = re.compile(r"\s*#r\s*(?=\S)")
_INTEGER = re.compile(r"\d+")
_RLE_HEADER = re.compile(r"\s*x\s*=")
_RLE_ONLY = re.compile(r"[$!\d]")  # never in a plaintext row: text holding one is an RLE body
_PLAINTEXT_DEAD = "."
_PLAINTEXT_ALIVE = "Oo*"
_NOT_PLAINTEXT = re.compile(f"[^{re.escape(_PLAINTEXT_DEAD + _PLAINTEXT_ALIVE)}]")


def _error(line: int, column: int, message: str) -> ValueError:
    return ValueError(f"RLE line {line}, column {column}: {message}")


def _count_without_tag(line: int, column: int, count_text: str) -> ValueError:
    return _error(
        line, column, f"run count {count_text} has no tag; expected b, o or $ right after it"
    )


def read_rle(text_or_path: str | os.PathLike[str]) -> tuple[np.ndarray, Rule | None]:
    """Read an RLE pattern.

    ``text_or_path`` is RLE text or a file name. A ``pathlib.Path`` (any ``os.PathLike``) is
    always a file; a ``str`` is taken as RLE text when it contains a newline or starts (after
    whitespace) with ``#`` or ``x =``, else as a file name (``FileNotFoundError`` if missing).

    Returns ``(cells, rule)``: ``cells`` is a uint8 array of shape ``(y, x)`` from the header
    holding 0 (dead) and 1 (alive), rows shorter than ``x`` padded with dead cells; ``rule`` is
    the header's rule parsed by :meth:`Rule.parse`, or ``None`` when the header names none.
    A Golly topology suffix on the rule (``B3/S23:T64,64``) is accepted and ignored: lifegym
    chooses the boundary at simulation time. A ``#r <rule>`` comment line (an older Golly form)
    supplies the rule when the header has none.

    Accepted like Golly: ``#`` comment lines anywhere before the data, whitespace and line breaks
    between tags, a missing final ``!`` (the pattern ends at the end of the text) and anything
    after ``!`` (ignored). Raises ``ValueError`` naming the 1-based line and column for a bad
    header, a bad rule, an unknown tag character, a run count without its tag (counts must touch
    their tag), a row longer than ``x`` or more rows than ``y`` (the column of the offending run).
    """
    if isinstance(text_or_path, os.PathLike):
        text = Path(text_or_path).read_text()
    elif isinstance(text_or_path, str):
        if "\n" in text_or_path or _LOOKS_LIKE_RLE.match(text_or_path):
            text = text_or_path
        else:
            text = Path(text_or_path).read_text()
    else:
        raise TypeError(
            f"read_rle expects RLE text (str) or a path, not {type(text_or_path).__name__}"
        )
    return _parse_rle(text)


def _parse_rle(
    text: str, *, parse_rule: bool = True, max_shape: tuple[int, int] | None = None
) -> tuple[np.ndarray, Rule | None]:
    """Parse RLE text with its header; ``parse_rule=False`` skips the rule (returns ``None``)."""
    lines = text.splitlines()
    index = 0
    comment_rule: tuple[int, int, str] | None = None
    while index < len(lines):
        stripped = lines[index].strip()
        rule_comment = _RULE_COMMENT.match(lines[index])
        if rule_comment:
            comment_rule = (index + 1, rule_comment.end() + 1, stripped[2:].strip())
        elif stripped and not stripped.startswith("#"):
            break
        index += 1
    if index == len(lines):
        raise _error(
            len(lines) + 1, 1, "expected a header 'x = <width>, y = <height>', found end of text"
        )
    height, width, rule = _parse_header(lines[index], index + 1, parse_rule=parse_rule)
    if rule is None and comment_rule is not None and parse_rule:
        rule = _parse_rule(*comment_rule)
    if max_shape is not None:
        _check_fits((height, width), max_shape, f"the RLE header's x = {width}, y = {height}")
    return _parse_rle_data(lines, index + 1, (height, width), max_shape), rule


def _parse_rle_data(
    lines: list[str],
    start: int,
    shape: tuple[int, int] | None,
    max_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """The cells of the RLE data in ``lines[start:]``.

    With ``shape``, the header's ``(y, x)``, runs must stay inside it. Without one (a bare body,
    no header) the grid is as large as what is written: its height runs to the last row holding
    a tag (row ends after it add nothing), its width to the end of the longest row, explicit
    dead cells included. ``#`` comment lines before the data are skipped either way.
    """
    live: list[tuple[int, int, int]] = []  # runs of live cells: (row, first column, length)
    x = y = 0
    rows = columns = 0  # extent of what is written, for a bare body
    data_started = False

    def finish() -> np.ndarray:
        grid_shape = shape if shape is not None else (rows, columns)
        if max_shape is not None:
            _check_fits(grid_shape, max_shape)
        cells = np.zeros(grid_shape, dtype=np.uint8)
        for row, column, count in live:
            cells[row, column : column + count] = 1
        return cells

    for line_number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip() or (not data_started and line.lstrip().startswith("#")):
            continue  # blank lines, and comments between the header and the data
        data_started = True
        count_text: str | None = None
        count_column = 0
        for match in _TOKEN.finditer(line):
            column = match.start() + 1
            digits, tag = match.group(1), match.group(2)
            if count_text is not None and tag is None:
                raise _count_without_tag(line_number, count_column, count_text)
            if digits is not None:
                count_text, count_column = digits, column
                continue
            if tag is None:
                continue  # whitespace between tags
            run_column = column if count_text is None else count_column
            count = 1 if count_text is None else int(count_text)
            if count == 0:
                raise _error(line_number, count_column, "run count 0; counts start at 1")
            if tag == "!":
                if count_text is not None:
                    raise _error(
                        line_number,
                        count_column,
                        f"run count {count_text} before '!'; expected b, o or $ after it",
                    )
                return finish()
            count_text = None
            if tag == "$":
                x = 0
                y += count
            elif tag in _DEAD_TAGS or tag in _ALIVE_TAGS:
                if shape is not None:
                    height, width = shape
                    if y >= height:
                        raise _error(
                            line_number, run_column, f"more rows than the header's y = {height}"
                        )
                    if x + count > width:
                        raise _error(
                            line_number,
                            run_column,
                            f"row {y + 1} is longer than the header's x = {width}",
                        )
                if tag in _ALIVE_TAGS:
                    live.append((y, x, count))
                x += count
                rows, columns = y + 1, max(columns, x)
            else:
                raise _error(
                    line_number,
                    column,
                    f"unknown tag {tag!r}; expected b or . (dead), o or A (alive), "
                    "$ (end of row), ! (end of pattern) or a run count "
                    "(multi-state patterns are not supported)",
                )
        if count_text is not None:  # a count at the end of a line
            raise _count_without_tag(line_number, count_column, count_text)
    return finish()  # no '!': Golly accepts the end of the text as the end of the pattern


class _Cursor:
    """Reads the header line left to right, raising errors that point at the column."""

    def __init__(self, line: str, line_number: int) -> None:
        self.line = line
        self.line_number = line_number
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.line) and self.line[self.pos].isspace():
            self.pos += 1

    def fail(self, expected: str) -> ValueError:
        found = repr(self.line[self.pos]) if self.pos < len(self.line) else "end of line"
        return _error(
            self.line_number, self.pos + 1, f"bad header: expected {expected}, found {found}"
        )

    def expect(self, literal: str, expected: str) -> None:
        self.skip_space()
        if not self.line.startswith(literal, self.pos):
            raise self.fail(expected)
        self.pos += len(literal)

    def integer(self, name: str) -> int:
        self.skip_space()
        match = _INTEGER.match(self.line, self.pos)
        if match is None:
            raise self.fail(f"a non-negative integer {name}")
        self.pos = match.end()
        return int(match.group())


def _parse_header(
    line: str, line_number: int, *, parse_rule: bool = True
) -> tuple[int, int, Rule | None]:
    """Parse ``x = W, y = H[, rule = R]``; returns ``(H, W, rule or None)``.

    With ``parse_rule=False`` the rule must be present after ``rule =`` but is not parsed, and
    the rule returned is ``None``.
    """
    cursor = _Cursor(line, line_number)
    form = "'x = <width>, y = <height>[, rule = <rule>]'"
    cursor.expect("x", f"a header {form}")
    cursor.expect("=", "'=' after x")
    width = cursor.integer("width after 'x ='")
    cursor.expect(",", "',' after the width")
    cursor.expect("y", "'y' after 'x = <width>,'")
    cursor.expect("=", "'=' after y")
    height = cursor.integer("height after 'y ='")
    cursor.skip_space()
    if cursor.pos == len(line):
        return height, width, None
    cursor.expect(",", "',' or end of line after the height")
    cursor.expect("rule", "'rule' after 'y = <height>,'")
    cursor.expect("=", "'=' after rule")
    cursor.skip_space()
    rule_text = line[cursor.pos :].strip()
    if not rule_text:
        raise cursor.fail("a rule such as B3/S23 after 'rule ='")
    if not parse_rule:
        return height, width, None
    return height, width, _parse_rule(line_number, cursor.pos + 1, rule_text)


def _parse_rule(line_number: int, column: int, rule_text: str) -> Rule:
    """Parse a header rule, dropping a Golly topology suffix such as ``:T64,64``."""
    rule_text = rule_text.split(":", 1)[0].strip()
    try:
        return Rule.parse(rule_text)
    except ValueError as exc:
        raise _error(line_number, column, f"bad rule {rule_text!r}: {exc}") from exc


def _row_tokens(row: np.ndarray) -> list[str]:
    """Run-length tokens of one row, trailing dead cells omitted (``[]`` for an empty row)."""
    alive = np.flatnonzero(row)
    if alive.size == 0:
        return []
    row = row[: alive[-1] + 1]
    starts = np.flatnonzero(np.diff(row, prepend=row[0] ^ 1))  # where the state changes
    lengths = np.diff(starts, append=row.size)
    tokens = []
    for start, length in zip(starts.tolist(), lengths.tolist(), strict=True):
        tag = "o" if row[start] else "b"
        tokens.append(f"{length}{tag}" if length > 1 else tag)
    return tokens


def write_rle(array: object, rule: Rule | str | None = None) -> str:
    """Encode a 2-D array of 0/1 as RLE text.

    The header is ``x = <width>, y = <height>`` plus ``, rule = <str(rule)>`` when a rule (a
    :class:`Rule` or a rule string, parsed and written canonically) is given. Rows use ``b``,
    ``o`` and ``$``; trailing dead cells and trailing empty rows are omitted, consecutive row ends
    merge into ``N$``, and the data ends with ``!``. Data lines hold at most 70 characters and a
    count is never split from its tag. The text ends with a newline. ``read_rle`` returns the
    same array and rule.
    """
    cells = as_cells(array, "cells", {2: "(height, width)"}, allow_empty=True)
    height, width = cells.shape
    header = f"x = {width}, y = {height}"
    if rule is not None:
        if isinstance(rule, str):
            rule = Rule.parse(rule)
        elif not isinstance(rule, Rule):
            raise TypeError(
                f"rule must be a Rule, a rule string or None, not {type(rule).__name__}"
            )
        header += f", rule = {rule}"

    tokens: list[str] = []
    current_row = 0
    for y in range(height):
        row_tokens = _row_tokens(cells[y])
        if not row_tokens:
            continue
        gap = y - current_row
        if gap:
            tokens.append(f"{gap}$" if gap > 1 else "$")
        tokens.extend(row_tokens)
        current_row = y
    tokens.append("!")

    lines = [header]
    line = ""
    for token in tokens:
        if len(line) + len(token) > MAX_LINE_LENGTH:
            lines.append(line)
            line = ""
        line += token
    lines.append(line)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ plaintext


def _plaintext_error(line: int, column: int, char: str) -> ValueError:
    hint = ""
    if char == "#":
        hint = " (comment lines start with '!', not '#')"
    elif char in "b$" or char.isdigit():
        hint = " (this looks like RLE: parse_cells reads RLE text that ends with '!')"
    return ValueError(
        f"plaintext line {line}, column {column}: unknown character {char!r}{hint}; "
        "a row holds '.' (dead) and 'O', 'o' or '*' (alive), "
        "and a line starting with '!' is a comment"
    )


def _preview(text: str, limit: int = 40) -> str:
    """``repr`` of ``text``, cut to about ``limit`` characters for error messages."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def read_plaintext(text: str) -> np.ndarray:
    """Read a plaintext (``.cells``) pattern.

    Each line is a row: ``.`` a dead cell, ``O``, ``o`` or ``*`` a live one. Lines starting
    with ``!`` (after any indentation) are comments, wherever they are; they are not rows. Lines
    end with ``\\n`` or ``\\r\\n``. Rows shorter than the longest are padded with dead cells on the
    right and a blank line between rows is a row of dead cells, as LifeWiki's pattern files
    allow; blank lines before the first row and after the last are ignored. Trailing whitespace
    is ignored, and so is indentation common to every row (a pattern indented inside a Python
    string reads as written); other whitespace is an unknown character.

    Returns a uint8 array of shape ``(rows, longest row)`` holding 0 (dead) and 1 (alive).
    Raises ``ValueError`` for an unknown character (naming it, its 1-based line and column and
    the allowed characters) or a text without rows (empty, blank or only comments).
    """
    if not isinstance(text, str):
        raise TypeError(f"read_plaintext expects plaintext (str), not {type(text).__name__}")
    rows: list[tuple[int, str]] = []  # (1-based line number, line without trailing whitespace)
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.lstrip().startswith("!"):
            rows.append((line_number, line.rstrip()))
    first = next((i for i, (_, line) in enumerate(rows) if line), len(rows))
    last = max((i for i, (_, line) in enumerate(rows) if line), default=-1)
    rows = rows[first : last + 1]
    if not rows:
        raise ValueError(
            f"plaintext {_preview(text)} holds no cells: give rows of '.' (dead) and "
            "'O' (alive), one line per row"
        )
    leads = [line[: len(line) - len(line.lstrip())] for _, line in rows if line]
    indent = 0  # length of the indentation every row shares
    for chars in zip(*leads, strict=False):  # up to the shortest indentation
        if len(set(chars)) > 1:
            break
        indent += 1
    width = max(len(line) for _, line in rows) - indent
    cells = np.zeros((len(rows), width), dtype=np.uint8)
    for y, (line_number, line) in enumerate(rows):
        row = line[indent:]
        bad = _NOT_PLAINTEXT.search(row)
        if bad is not None:
            raise _plaintext_error(line_number, indent + bad.start() + 1, bad.group())
        codes = np.frombuffer(row.encode("ascii"), dtype=np.uint8)
        cells[y, : len(row)] = codes != ord(_PLAINTEXT_DEAD)
    return cells


def write_plaintext(cells: np.ndarray | Sequence[Sequence[int | bool]]) -> str:
    """Encode a 2-D array of 0/1 as plaintext: one row per line, ``.`` dead, ``o`` alive.

    Every row is written in full (trailing dead cells and dead rows included), the lines are
    joined by ``\\n`` with no newline after the last and there are no comment lines, so
    :func:`read_plaintext` returns the same array. The array must have at least one row and one
    column (plaintext cannot hold an empty grid); it is validated like :func:`write_rle`'s.
    """
    grid = as_cells(cells, "cells", {2: "(height, width)"})
    chars = np.where(grid == 1, ord("o"), ord(_PLAINTEXT_DEAD)).astype(np.uint8)
    return "\n".join(row.tobytes().decode("ascii") for row in chars)


# ------------------------------------------------------------------ any grid a person gives


def _check_fits(shape: tuple[int, int], max_shape: tuple[int, int], source: str = "") -> None:
    if shape[0] > max_shape[0] or shape[1] > max_shape[1]:
        where = f" ({source})" if source else ""
        raise ValueError(
            f"cells of shape {shape}{where} do not fit max_shape {max_shape}: at most "
            f"{max_shape[0]} rows and {max_shape[1]} columns are allowed"
        )


def _as_max_shape(max_shape: object) -> tuple[int, int]:
    if (
        isinstance(max_shape, tuple | list)
        and len(max_shape) == 2
        and all(
            isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 1
            for n in max_shape
        )
    ):
        return int(max_shape[0]), int(max_shape[1])
    raise ValueError(
        f"max_shape must be a (height, width) pair of positive integers, got {max_shape!r}"
    )


def _text_format(text: str) -> str:
    """How :func:`parse_cells` reads ``text``: ``"rle"``, ``"rle body"`` or ``"plaintext"``.

    RLE when the first line that is neither blank nor a ``#`` comment is a header ``x = ...``;
    a bare RLE body (such as ``bo$2bo$3o!``) when a line that is not a comment (``#`` or ``!``
    first) holds ``$``, ``!`` or a digit, none of which a plaintext row can hold.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    data = [line for line in lines if not line.lstrip().startswith("#")]
    if data and _RLE_HEADER.match(data[0]):
        return "rle"
    if any(_RLE_ONLY.search(line) for line in data if not line.lstrip().startswith("!")):
        return "rle body"
    return "plaintext"


def _rectangular(value: list | tuple) -> np.ndarray:
    """``np.asarray(value)``, with a message naming the rows when the nested list is ragged."""
    try:
        return np.asarray(value)
    except ValueError as exc:
        lengths: list[int] = []
        for index, row in enumerate(value):
            if not isinstance(row, list | tuple | np.ndarray):
                raise ValueError(
                    f"cells must be a list of rows, each a list of 0/1 cells; row {index} is "
                    f"{row!r}"
                ) from None
            lengths.append(len(row))
            if lengths[index] != lengths[0]:
                raise ValueError(
                    f"cells must be rectangular, every row the same length: row 0 has "
                    f"{lengths[0]} cells but row {index} has {lengths[index]} "
                    "(pad short rows with 0)"
                ) from None
        raise ValueError(f"cells must be a 2-D grid of 0/1 numbers: {exc}") from None


def _first_non_number(cells: np.ndarray) -> tuple[tuple[int, ...], object] | None:
    """Index and value of the first element of an object/str array that is not a number."""
    for index, element in np.ndenumerate(cells):
        item = element.item() if isinstance(element, np.str_ | np.bytes_) else element
        if isinstance(item, str | bytes) or not isinstance(
            item, bool | int | float | np.bool_ | np.integer | np.floating
        ):
            return tuple(int(i) for i in index), item
    return None


def _cells_from_array(value: np.ndarray | list | tuple) -> np.ndarray:
    cells = _rectangular(value) if isinstance(value, list | tuple) else value
    if cells.dtype.kind not in "biuf":  # strings, objects, complex numbers
        found = _first_non_number(cells) if cells.dtype.kind in "OSU" else None
        if found is not None:
            index, item = found
            hint = ""
            if isinstance(item, str):
                hint = (
                    "; a plaintext or RLE pattern is one string with a line per row, "
                    "not a list of strings"
                )
            raise ValueError(
                f"cells must hold the numbers 0 (dead) and 1 (alive), found {item!r} "
                f"({type(item).__name__}) at index {index}{hint}"
            )
        if cells.dtype.kind != "O":
            raise ValueError(
                f"cells must hold the numbers 0 (dead) and 1 (alive), got dtype {cells.dtype}"
            )
        cells = cells.astype(np.float64)  # an object array of numbers: check them as floats
    if cells.size == 0:
        raise ValueError(f"cells is empty (shape {cells.shape}): give at least one cell")
    return as_cells(cells, "cells", {2: "(height, width)"}, allow_float=True)


def parse_cells(
    value: CellsLike,
    *,
    max_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """A grid given by a person or an agent, as a new uint8 ``(height, width)`` array of 0/1.

    ``value`` may be:

    * a 2-D numpy array or nested list (rows of cells) of bool, integers 0/1, or floats 0.0/1.0;
    * RLE text (see :func:`read_rle`), with or without its ``x = ..., y = ...`` header. The
      header's shape is the grid's; a bare body such as ``bo$2bo$3o!`` gives a grid reaching
      the last row that holds a cell tag and the end of the longest row (explicit dead cells
      count). A rule in the header (or a ``#r`` comment) is ignored, not even checked: only the
      cells are returned;
    * plaintext (see :func:`read_plaintext`), e.g. ``".O.\\n..O\\nOOO"``.

    A string is RLE when its first line that is not blank or a ``#`` comment starts with
    ``x =``, or when it holds ``$``, ``!`` or a digit outside ``!`` comment lines (a plaintext
    row never does); otherwise it is plaintext. Strings are pattern text, never file names.

    ``max_shape``, a ``(height, width)``, bounds the grid; it is checked before any memory is
    allocated for an RLE grid, so give it for input that is not trusted.

    Returns a new C-contiguous array, never a view of ``value``.

    Raises:
        ValueError: every problem with the value, its message naming the value and what is
            allowed: not 2-D (the shape), ragged rows, a value other than 0 and 1 or a
            non-number (the first one and its index), an empty grid or text, a plaintext
            character other than ``.``, ``O``, ``o`` and ``*`` (the character, its line and
            column), bad RLE (line and column, as :func:`read_rle`), a grid larger than
            ``max_shape`` (both shapes), or a bad ``max_shape``.
        TypeError: ``value`` is not a str, numpy array, list or tuple.
    """
    limit = None if max_shape is None else _as_max_shape(max_shape)
    if isinstance(value, str):
        text_format = _text_format(value)
        if text_format == "rle":
            cells, _ = _parse_rle(value, parse_rule=False, max_shape=limit)
        elif text_format == "rle body":
            cells = _parse_rle_data(value.splitlines(), 0, None, limit)
        else:
            cells = read_plaintext(value)
        if cells.size == 0:
            raise ValueError(
                f"RLE {_preview(value)} holds no cells (shape {cells.shape}): "
                "give at least one row and one column"
            )
    elif isinstance(value, np.ndarray | list | tuple):
        cells = _cells_from_array(value)
        if isinstance(value, np.ndarray) and np.may_share_memory(cells, value):
            cells = cells.copy()
    else:
        raise TypeError(
            "cells must be a 2-D array or nested list of 0/1, RLE text or plaintext, not "
            f"{type(value).__name__}"
        )
    if limit is not None:
        _check_fits(cells.shape, limit)
    return cells
