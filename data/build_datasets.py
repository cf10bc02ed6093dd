#!/usr/bin/env python3
"""Build probekit's built-in concept data sets from the fact tables in ``data/facts/``.

The built files ship inside the package, in ``probekit/concepts/data/`` (next to their
data cards), and load through ``importlib.resources``. Three CSV files are written (all
UTF-8, ``\\n`` line endings, header row first):

``cities.csv``
    ``statement,label,group,city,country``. One true and one false statement per row of
    ``facts/city_country.csv``: "The city of X is in Y." with ``label`` 1 (true) or 0
    (false). The false twin names a different country drawn, with a seeded
    ``random.Random``, from the countries of the table. ``group`` is the city, so a true
    statement and its false twin share a group. ``country`` is the country named in the
    statement (the true one on label 1 rows, the wrong one on label 0 rows).
``world_places.csv``
    ``text,name,country,latitude,longitude,group``. One row per row of
    ``facts/world_places.csv``; ``text`` is the place name alone, ``group`` is the name.
    Latitude and longitude are degrees (WGS84, north/east positive), written with two
    decimals. Every place is checked against ``facts/country_bounds.csv``.
``number_agreement.csv``
    ``text,label,group,word_type``. Minimal pairs from ``facts/nouns.csv`` and the
    :data:`TEMPLATES` below: the two members of a pair are the same template filled with
    the singular (``label`` 0) or the plural (``label`` 1) of one noun. ``group`` is
    ``"<singular>|<template id>"``, ``word_type`` is the singular (the lemma).

The build uses the standard library only and is deterministic: running it twice gives
identical bytes. Usage::

    python data/build_datasets.py              # rewrite probekit/concepts/data/*.csv in place
    python data/build_datasets.py --out DIR    # write the three files into DIR

A fact table that breaks a rule (duplicate key, coordinate out of range, a place outside
its country's bounding box, a noun whose plural equals its singular, ...) stops the build
with a message naming the bad row; nothing is written in that case.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from pathlib import Path

#: Seed of the ``random.Random`` that draws the wrong country of each false statement.
SEED = 20240607

HERE = Path(__file__).resolve().parent
FACTS_DIR = HERE / "facts"
#: Where the built files go by default: the package's data folder (shipped in wheels).
PACKAGE_DATA_DIR = HERE.parent / "probekit" / "concepts" / "data"

#: Country names written with a leading "the" inside a sentence.
THE_COUNTRIES = frozenset(
    {
        "United States",
        "United Kingdom",
        "Netherlands",
        "Philippines",
        "United Arab Emirates",
        "Czech Republic",
        "Dominican Republic",
        "Democratic Republic of the Congo",
    }
)

#: Sentence frames for the number-agreement minimal pairs, ``(template id, frame)``.
#: ``{noun}`` is replaced by the singular or the plural; everything else is fixed.
TEMPLATES = (
    ("t0", "The {noun}"),
    ("t1", "Yesterday, the {noun}"),
    ("t2", "I think that the {noun}"),
    ("t3", "The {noun} near the old bridge"),
)

OUTPUT_FILES = ("cities.csv", "world_places.csv", "number_agreement.csv")


class FactError(ValueError):
    """A fact table breaks one of the rules the build relies on."""


# --------------------------------------------------------------------------- reading


def _read_table(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Read a CSV fact table, check its header, strip cells, reject empty cells."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != columns:
            raise FactError(f"{path}: header is {reader.fieldnames}, expected {list(columns)}")
        rows = []
        for line_no, row in enumerate(reader, start=2):
            clean = {k: (v or "").strip() for k, v in row.items()}
            empty = [k for k, v in clean.items() if not v]
            if empty:
                raise FactError(f"{path}:{line_no}: empty cell(s) {empty} in {row}")
            rows.append(clean)
    if not rows:
        raise FactError(f"{path}: no rows")
    return rows


def _unique(rows: list[dict[str, str]], key: str, path: Path) -> None:
    seen: set[str] = set()
    for row in rows:
        if row[key] in seen:
            raise FactError(f"{path}: duplicate {key} {row[key]!r}")
        seen.add(row[key])


def load_city_country(facts_dir: Path = FACTS_DIR) -> list[dict[str, str]]:
    """Rows ``{"city", "country"}`` of ``city_country.csv``, unique cities."""
    path = facts_dir / "city_country.csv"
    rows = _read_table(path, ("city", "country"))
    _unique(rows, "city", path)
    if len({r["country"] for r in rows}) < 2:
        raise FactError(f"{path}: need at least two countries to draw false statements")
    return rows


def load_country_bounds(facts_dir: Path = FACTS_DIR) -> dict[str, tuple[float, float, float, float]]:
    """``country -> (min_lat, max_lat, min_lon, max_lon)`` from ``country_bounds.csv``."""
    path = facts_dir / "country_bounds.csv"
    rows = _read_table(path, ("country", "min_lat", "max_lat", "min_lon", "max_lon"))
    _unique(rows, "country", path)
    bounds = {}
    for r in rows:
        b = tuple(float(r[k]) for k in ("min_lat", "max_lat", "min_lon", "max_lon"))
        lat_lo, lat_hi, lon_lo, lon_hi = b
        if not (-90 <= lat_lo < lat_hi <= 90 and -180 <= lon_lo < lon_hi <= 180):
            raise FactError(f"{path}: bad bounding box for {r['country']!r}: {b}")
        bounds[r["country"]] = b
    return bounds


def load_world_places(facts_dir: Path = FACTS_DIR) -> list[dict[str, str]]:
    """Rows of ``world_places.csv``, checked for range and country bounding box."""
    path = facts_dir / "world_places.csv"
    rows = _read_table(path, ("name", "country", "latitude", "longitude", "kind"))
    _unique(rows, "name", path)
    bounds = load_country_bounds(facts_dir)
    kinds = {"capital", "city", "landmark", "natural"}
    for r in rows:
        lat, lon = float(r["latitude"]), float(r["longitude"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise FactError(f"{path}: {r['name']!r} has coordinates out of range ({lat}, {lon})")
        if r["kind"] not in kinds:
            raise FactError(f"{path}: {r['name']!r} has kind {r['kind']!r}; valid: {sorted(kinds)}")
        if r["country"] not in bounds:
            raise FactError(f"{path}: country {r['country']!r} of {r['name']!r} has no row in country_bounds.csv")
        lat_lo, lat_hi, lon_lo, lon_hi = bounds[r["country"]]
        if not (lat_lo <= lat <= lat_hi and lon_lo <= lon <= lon_hi):
            raise FactError(
                f"{path}: {r['name']!r} ({lat}, {lon}) lies outside the bounding box of "
                f"{r['country']} {bounds[r['country']]}"
            )
    return rows


def load_nouns(facts_dir: Path = FACTS_DIR) -> list[dict[str, str]]:
    """Rows ``{"singular", "plural"}`` of ``nouns.csv``; singular and plural differ."""
    path = facts_dir / "nouns.csv"
    rows = _read_table(path, ("singular", "plural"))
    _unique(rows, "singular", path)
    _unique(rows, "plural", path)
    for r in rows:
        if r["singular"] == r["plural"]:
            raise FactError(f"{path}: {r['singular']!r} has the same singular and plural form")
        if " " in r["singular"] or " " in r["plural"]:
            raise FactError(f"{path}: {r['singular']!r}/{r['plural']!r} must be single words")
    return rows


# --------------------------------------------------------------------------- building


def country_in_sentence(country: str) -> str:
    """The country as written inside a sentence ("the United States", "France")."""
    return f"the {country}" if country in THE_COUNTRIES else country


def city_statement(city: str, country: str) -> str:
    """``"The city of {city} is in {country}."``"""
    return f"The city of {city} is in {country_in_sentence(country)}."


def build_cities(facts_dir: Path = FACTS_DIR, seed: int = SEED) -> list[list[str]]:
    """Rows (header first) of ``cities.csv``."""
    facts = load_city_country(facts_dir)
    countries = sorted({r["country"] for r in facts})
    rng = random.Random(seed)
    out = [["statement", "label", "group", "city", "country"]]
    for r in facts:
        city, true_country = r["city"], r["country"]
        wrong = rng.choice([c for c in countries if c != true_country])
        out.append([city_statement(city, true_country), "1", city, city, true_country])
        out.append([city_statement(city, wrong), "0", city, city, wrong])
    return out


def build_world_places(facts_dir: Path = FACTS_DIR) -> list[list[str]]:
    """Rows (header first) of ``world_places.csv``."""
    out = [["text", "name", "country", "latitude", "longitude", "group"]]
    for r in load_world_places(facts_dir):
        lat, lon = float(r["latitude"]), float(r["longitude"])
        out.append([r["name"], r["name"], r["country"], f"{lat:.2f}", f"{lon:.2f}", r["name"]])
    return out


def build_number_agreement(facts_dir: Path = FACTS_DIR) -> list[list[str]]:
    """Rows (header first) of ``number_agreement.csv``."""
    out = [["text", "label", "group", "word_type"]]
    for r in load_nouns(facts_dir):
        for template_id, frame in TEMPLATES:
            group = f"{r['singular']}|{template_id}"
            out.append([frame.format(noun=r["singular"]), "0", group, r["singular"]])
            out.append([frame.format(noun=r["plural"]), "1", group, r["singular"]])
    return out


def _to_csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def build_all(out_dir: Path, facts_dir: Path = FACTS_DIR, seed: int = SEED) -> dict[str, int]:
    """Build the three data sets into ``out_dir``; return ``file name -> number of rows``.

    Everything is built in memory first, so a fact error writes nothing.
    """
    contents = {
        "cities.csv": build_cities(facts_dir, seed),
        "world_places.csv": build_world_places(facts_dir),
        "number_agreement.csv": build_number_agreement(facts_dir),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in contents.items():
        (out_dir / name).write_bytes(_to_csv_bytes(rows))
    return {name: len(rows) - 1 for name, rows in contents.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PACKAGE_DATA_DIR,
                        help="output directory (default: probekit/concepts/data/)")
    parser.add_argument("--facts", type=Path, default=FACTS_DIR, help="fact-table directory (default: data/facts/)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed for the false cities (default: {SEED})")
    args = parser.parse_args(argv)
    try:
        counts = build_all(args.out, args.facts, args.seed)
    except FactError as err:
        print(f"build_datasets: {err}", file=sys.stderr)
        return 1
    for name, n in counts.items():
        print(f"{args.out / name}: {n} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
