"""Sweeps as data: an entry's ``sweep:`` (a name) and ``grid:`` (Config fields -> values) expand into
one run per point of the grid's product, each named by the values of every field its sweep varies,
so that the same point reached from two entries gets one name (and one run). `matrix.expand` calls it.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping

from .matrix_file import MatrixError, check_name, describe_entry, unknown_key_error


def sweep_fields(entries, file: str) -> dict[str, tuple[str, ...]]:
    """Sweep name -> the fields any of its entries varies (sorted): what names its points."""
    out: dict[str, set] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or ("sweep" not in entry and "grid" not in entry):
            continue
        if ("sweep" in entry) != ("grid" in entry):
            raise MatrixError(f"{describe_entry(i, entry, file)}: 'sweep' (its name) and 'grid' (the "
                              "values) go together")
        sweep, grid = entry["sweep"], entry["grid"]
        if not isinstance(sweep, str):
            raise MatrixError(f"{describe_entry(i, entry, file)}: sweep must be a name, got {sweep!r}")
        check_name(sweep, "sweep", describe_entry(i, entry, file))
        if not isinstance(grid, Mapping) or not grid:
            raise MatrixError(f"{describe_entry(i, entry, file)}: grid must be a non-empty mapping of "
                              "Config fields to lists of values")
        out.setdefault(sweep, set()).update(grid)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def grid_points(merged: Mapping, where: str, known: dict) -> list[dict]:
    """The grid's product as a list of {field: value} (one empty point without a grid)."""
    grid = merged.get("grid")
    if grid is None:
        return [{}]
    for k, values in grid.items():
        if k in ("variant", "flavour", "model", "dataset", "seed", "results_dir", "overrides"):
            raise MatrixError(f"{where}: grid may not vary {k!r} (the matrix sets it)")
        if "fields" in known and k not in known["fields"]:
            raise unknown_key_error(f"{where} grid", k, known["fields"])
        if not isinstance(values, list) or not values:
            raise MatrixError(f"{where}: grid {k!r} must be a non-empty list of values, got {values!r}")
        if len(set(map(repr, values))) != len(values):
            raise MatrixError(f"{where}: grid {k!r} lists a value twice: {values}")
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def point_name(fields: tuple[str, ...], given: Mapping, variant, flavour) -> str:
    """'<field><value>-...' over the sweep's fields; a field the entry does not set shows the value the
    run will get (the variant's, else the Config default) so that equal points get equal names."""
    parts = []
    for f in fields:
        if f in given:
            v = given[f]
        else:
            v = _default_value(f, variant, flavour)
        parts.append(f"{f}{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{f}{v}")
    return "-".join(parts)


def _default_value(field_name: str, variant, flavour):
    from ..config import Config
    try:
        from ..variants import variant_settings
        settings = variant_settings(variant, flavour) if variant else {}
    except (KeyError, ValueError):   # a fixture variant (validate: false)
        settings = {}
    return settings.get(field_name, getattr(Config(), field_name, None))
