"""Split a Markdown file into its YAML front matter and body, safely.

Only ``yaml.SafeLoader`` is used. Aliases, duplicate keys and custom tags are
refused (a story is written by an untrusted supporter: ``!!python/object`` or a
billion-laughs alias bomb must be a clear error, never code or a hang). Every
key's line number is recorded so that problems can point at the right line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 256 * 1024  # 256 KB: a story of 10,000 characters is about 40 KB
FENCE = "---"


class FrontMatterError(Exception):
    """The file cannot be split or its YAML cannot be read."""

    def __init__(self, line: int, message: str, hint: str):
        super().__init__(message)
        self.line = line
        self.message = message
        self.hint = hint


@dataclass
class Document:
    """A parsed file: the front matter mapping, the body and where things are."""

    data: dict[str, Any]
    body: str
    body_line: int  # 1-based line where the body starts
    lines: dict[tuple, int] = field(default_factory=dict)  # key path -> 1-based line

    def line_of(self, *path: Any) -> int:
        """The line of the key at ``path``, else of its nearest parent, else 1."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return 1


# libyaml's safe loader when PyYAML has it (about 10x faster), else the pure one.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), CRLF or LF; anything else is an error."""
    if len(raw) > MAX_FILE_BYTES:
        raise FrontMatterError(
            1,
            f"file is {len(raw) // 1024} KB, over the {MAX_FILE_BYTES // 1024} KB limit",
            "shorten the story",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise FrontMatterError(
            line, "file is not valid UTF-8", "save the file as UTF-8"
        ) from None
    if "\x00" in text:
        raise FrontMatterError(1, "file contains NUL bytes", "save it as plain UTF-8 text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split(text: str) -> tuple[str, str, int]:
    """Return (yaml_text, body, body_line) for a ``---`` fenced document."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        raise FrontMatterError(
            1,
            "file does not start with a '---' front matter block",
            "put the fields between two lines of '---' at the top",
        )
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip() in (FENCE, "..."):
            yaml_text = "\n".join(lines[1:number])
            body = "\n".join(lines[number + 1 :])
            return yaml_text, body, number + 2
    raise FrontMatterError(
        1, "front matter block is not closed", "add a line with '---' after the fields"
    )


def _record_lines(node: Node, path: tuple, lines: dict, offset: int, seen_nodes: set) -> None:
    """Record each key's line; a node met twice is an alias (refused: no alias bombs)."""
    if id(node) in seen_nodes:
        raise FrontMatterError(node.start_mark.line + offset,
                               "YAML aliases (*name) are not allowed", "write the value out in full")
    seen_nodes.add(id(node))
    if node.tag.startswith("!") and not node.tag.startswith("tag:yaml.org,2002:"):
        raise FrontMatterError(node.start_mark.line + offset,
                               "YAML tags such as !!python/object are not allowed",
                               "remove the tag and write a plain value")
    if isinstance(node, MappingNode):
        seen: set = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise FrontMatterError(
                    key_node.start_mark.line + offset,
                    "a key must be a plain name",
                    "write keys as simple words",
                )
            key = key_node.value
            if key in seen:
                raise FrontMatterError(
                    key_node.start_mark.line + offset,
                    f"'{key}' is given twice",
                    "keep one of them",
                )
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + offset
            _record_lines(value_node, path + (key,), lines, offset, seen_nodes)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + offset
            _record_lines(item, path + (index,), lines, offset, seen_nodes)


def load_yaml(yaml_text: str, offset: int = 2) -> tuple[Any, dict[tuple, int]]:
    """Safe-load one YAML document; ``offset`` turns YAML's 0-based lines into file lines."""
    loader = _BaseLoader(yaml_text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[tuple, int] = {}
        _record_lines(node, (), lines, offset, set())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + offset if mark else 1
        problem = (err.problem or err.context or "invalid YAML").strip()
        if "constructor for the tag" in problem:
            problem = "YAML tags such as !!python/object are not allowed"
        raise FrontMatterError(line, problem, "fix the YAML syntax near this line") from None
    except yaml.YAMLError as err:
        raise FrontMatterError(1, f"invalid YAML: {err}", "fix the YAML syntax") from None
    finally:
        loader.dispose()
    return data, lines


def parse(text: str) -> Document:
    """Parse decoded text into a Document; raise FrontMatterError on bad structure."""
    yaml_text, body, body_line = split(text)
    data, lines = load_yaml(yaml_text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError(
            2, "front matter must be a set of 'field: value' lines", "write one field per line"
        )
    return Document(data=data, body=body, body_line=body_line, lines=lines)


def read(path: Path) -> Document:
    """Read and parse a file from disk."""
    return parse(decode(Path(path).read_bytes()))
