"""Reading ``experiments.yml`` strictly: a YAML mapping with a duplicate key is an error (PyYAML
would keep the last value silently), and every mapping remembers its line, so that the matrix's
errors (:class:`MatrixError`) can name the entry's line. The expansion into runs is `matrix`.
"""
from __future__ import annotations

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
