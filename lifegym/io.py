"""RLE pattern files, the format Golly and LifeWiki use.

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
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from lifegym.cells import as_cells
from lifegym.rules import Rule

__all__ = ["read_rle", "write_rle"]

#: Longest data line :func:`write_rle` writes (Golly's limit too).
MAX_LINE_LENGTH = 70

_DEAD_TAGS = "b."
_ALIVE_TAGS = "oA"
_TOKEN = re.compile(r"\s+|(\d+)|(.)")
_LOOKS_LIKE_RLE = re.compile(r"\s*(#|x\s*=)")
_RULE_COMMENT = re.compile(r"\s*#r\s*(?=\S)")
_INTEGER = re.compile(r"\d+")


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


def _parse_rle(text: str) -> tuple[np.ndarray, Rule | None]:
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
    height, width, rule = _parse_header(lines[index], index + 1)
    if rule is None and comment_rule is not None:
        rule = _parse_rule(*comment_rule)

    cells = np.zeros((height, width), dtype=np.uint8)
    x = y = 0
    data_started = False
    for line_number, line in enumerate(lines[index + 1 :], start=index + 2):
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
                return cells, rule
            count_text = None
            if tag == "$":
                x = 0
                y += count
            elif tag in _DEAD_TAGS or tag in _ALIVE_TAGS:
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
                    cells[y, x : x + count] = 1
                x += count
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
    return cells, rule  # no '!': Golly accepts the end of the text as the end of the pattern


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


def _parse_header(line: str, line_number: int) -> tuple[int, int, Rule | None]:
    """Parse ``x = W, y = H[, rule = R]``; returns ``(H, W, rule or None)``."""
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
