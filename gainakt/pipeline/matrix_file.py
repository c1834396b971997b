"""Reading ``experiments.yml`` strictly: a YAML mapping with a duplicate key is an error (PyYAML
would keep the last value silently), and every mapping remembers its line, so that the matrix's
errors (:class:`MatrixError`) can name the entry's line; and the helpers those errors share
(naming an entry, an unknown key with its closest match, a name that must fit in a file name).
The expansion into runs is `matrix`; a sweep's grid is `grid`.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml


class MatrixError(ValueError):
    """A mistake in the experiment matrix (the message names the entry and key)."""


class _LineDict(dict):
    line: int | None = None


class _StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    out = _LineDict()
    out.line = node.start_mark.line + 1
    first_line: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out:
            raise MatrixError(f"{node.start_mark.name}: line {line}: duplicate key {key!r} "
                              f"(first given at line {first_line[key]}); one of them would be "
                              "silently ignored")
        first_line[key] = line
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_matrix(path) -> dict:
    """Read a matrix file strictly (duplicate keys raise :class:`MatrixError`)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        raise MatrixError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise MatrixError(f"{path}: expected a mapping with 'defaults' and 'runs'")
    return data


def describe_entry(i: int, entry: Mapping, file: str) -> str:
    line = getattr(entry, "line", None)
    where = f"{file} runs[{i}]" + (f" (line {line})" if line else "")
    for k in ("variant", "model"):
        if isinstance(entry, Mapping) and k in entry:
            where += f" {k}={entry[k]!r}"
    return where


def unknown_key_error(where: str, key, allowed: Iterable[str]) -> MatrixError:
    hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
    msg = f"{where}: unknown key {key!r}"
    if hint:
        msg += f" (did you mean {hint[0]!r}?)"
    return MatrixError(msg + f"; allowed keys: {', '.join(sorted(allowed))}")


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]*$")


def check_name(value: str, what: str, where: str) -> None:
    if not NAME_RE.match(value):
        raise MatrixError(f"{where}: {what} {value!r} may only contain letters, digits and "
                          "'_.+=-' (it becomes part of file names)")
