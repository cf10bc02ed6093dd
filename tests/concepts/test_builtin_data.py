"""The built-in concept data sets (``probekit/concepts/data/``, built from ``data/facts/``):
facts, balance, pairing, reproducible build."""

from __future__ import annotations

import csv
import importlib.util
import math
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "probekit" / "concepts" / "data"
FACTS = REPO / "data" / "facts"
SCRIPT = REPO / "data" / "build_datasets.py"


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def _build_module():
    spec = importlib.util.spec_from_file_location("probekit_data_build", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run_build(out: Path, facts: Path = FACTS) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--facts", str(facts)],
        capture_output=True, text=True, timeout=60,
    )


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


# --------------------------------------------------------------------------- build


def test_build_is_deterministic_and_matches_committed_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        proc = _run_build(out)
        assert proc.returncode == 0, proc.stderr
    mod = _build_module()
    for name in mod.OUTPUT_FILES:
        fresh = (first / name).read_bytes()
        assert fresh == (second / name).read_bytes(), f"{name} differs between two builds"
        assert fresh == (DATA / name).read_bytes(), f"{DATA / name} is stale: rerun data/build_datasets.py"
        assert b"\r" not in fresh


def test_build_rejects_a_place_outside_its_country_and_writes_nothing(tmp_path):
    facts = tmp_path / "facts"
    shutil.copytree(FACTS, facts)
    with open(facts / "world_places.csv", "a", newline="", encoding="utf-8") as f:
        # Sign error on the latitude: puts Paris in the Southern Ocean.
        csv.writer(f, lineterminator="\n").writerow(["Paris Typo", "France", "-48.86", "2.35", "city"])
    out = tmp_path / "out"
    proc = _run_build(out, facts)
    assert proc.returncode == 1
    assert "Paris Typo" in proc.stderr and "France" in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_build_rejects_a_noun_without_a_distinct_plural(tmp_path):
    facts = tmp_path / "facts"
    shutil.copytree(FACTS, facts)
    with open(facts / "nouns.csv", "a", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerow(["sheep", "sheep"])
    proc = _run_build(tmp_path / "out", facts)
    assert proc.returncode == 1
    assert "sheep" in proc.stderr


# --------------------------------------------------------------------------- cities


def test_city_facts_table():
    facts = _rows(FACTS / "city_country.csv")
    assert _header(FACTS / "city_country.csv") == ["city", "country"]
    assert len(facts) >= 200
    cities = [r["city"] for r in facts]
    assert len(set(cities)) == len(cities), [c for c, n in Counter(cities).items() if n > 1]
    assert len({r["country"] for r in facts}) >= 50
    assert all(r["city"].strip() == r["city"] and r["country"].strip() == r["country"] for r in facts)


def test_cities_counts_balance_and_pairs():
    rows = _rows(DATA / "cities.csv")
    assert _header(DATA / "cities.csv") == ["statement", "label", "group", "city", "country"]
    facts = {r["city"]: r["country"] for r in _rows(FACTS / "city_country.csv")}
    assert len(rows) == 2 * len(facts) >= 400
    labels = Counter(r["label"] for r in rows)
    assert labels == {"1": len(facts), "0": len(facts)}
    by_group = defaultdict(list)
    for r in rows:
        assert r["group"] == r["city"]
        by_group[r["group"]].append(r)
    assert set(by_group) == set(facts)
    for city, pair in by_group.items():
        assert sorted(r["label"] for r in pair) == ["0", "1"], city
        true_row = next(r for r in pair if r["label"] == "1")
        false_row = next(r for r in pair if r["label"] == "0")
        assert true_row["country"] == facts[city]
        assert false_row["country"] != facts[city], f"false twin of {city} names its true country"
        assert false_row["country"] in set(facts.values())


def test_city_statements_text_and_no_duplicates():
    rows = _rows(DATA / "cities.csv")
    statements = [r["statement"] for r in rows]
    assert len(set(statements)) == len(statements)
    mod = _build_module()
    for r in rows:
        assert r["statement"] == mod.city_statement(r["city"], r["country"])
        assert r["statement"].startswith(f"The city of {r['city']} is in ")
        assert r["statement"].endswith(f"{r['country']}.")
    assert "The city of Chicago is in the United States." in statements
    assert "The city of Paris is in France." in statements


def test_false_cities_avoid_known_namesakes():
    # Towns that share a name with a listed city: a false statement pairing them would be
    # arguably true. Guards against a seed or table change producing one.
    namesakes = {
        ("Berlin", "United States"), ("Rome", "United States"), ("Moscow", "United States"),
        ("Paris", "United States"), ("Lima", "United States"), ("Valparaiso", "United States"),
        ("Hamburg", "United States"), ("Geneva", "United States"), ("Vienna", "United States"),
        ("Dunedin", "United States"), ("Sheffield", "United States"), ("Venice", "United States"),
        ("Wellington", "United States"), ("Wellington", "United Kingdom"), ("Christchurch", "United Kingdom"),
        ("Bergen", "Netherlands"), ("Darwin", "United States"), ("Cologne", "United States"),
        ("Odessa", "United States"), ("Hobart", "United States"), ("Melbourne", "United States"),
    }
    pairs = {(r["city"], r["country"]) for r in _rows(DATA / "cities.csv") if r["label"] == "0"}
    assert not pairs & namesakes, sorted(pairs & namesakes)


def test_cities_span_all_continents():
    places = {r["name"]: (float(r["latitude"]), float(r["longitude"])) for r in _rows(FACTS / "world_places.csv")}
    cities = _rows(FACTS / "city_country.csv")
    coords = [places[r["city"]] for r in cities]  # every city has coordinates (see next test)
    regions = {
        "Europe": lambda la, lo: 35 <= la <= 72 and -25 <= lo <= 45,
        "Africa": lambda la, lo: -35 <= la <= 35 and -18 <= lo <= 52 and not (la > 12 and lo > 35),
        "Asia": lambda la, lo: -11 <= la <= 70 and 35 <= lo <= 150,
        "North America": lambda la, lo: 7 <= la <= 72 and -170 <= lo <= -52,
        "South America": lambda la, lo: -56 <= la <= 13 and -82 <= lo <= -34,
        "Oceania": lambda la, lo: -48 <= la <= -5 and 110 <= lo <= 180,
    }
    counts = {name: sum(inside(la, lo) for la, lo in coords) for name, inside in regions.items()}
    assert all(n >= 10 for n in counts.values()), counts


def test_every_city_is_a_world_place_with_the_same_country():
    places = {r["name"]: r["country"] for r in _rows(FACTS / "world_places.csv")}
    for r in _rows(FACTS / "city_country.csv"):
        assert places.get(r["city"]) == r["country"], r


# --------------------------------------------------------------------------- world places


def test_world_places_built_file():
    rows = _rows(DATA / "world_places.csv")
    assert _header(DATA / "world_places.csv") == ["text", "name", "country", "latitude", "longitude", "group"]
    facts = _rows(FACTS / "world_places.csv")
    assert len(rows) == len(facts) >= 300
    names = [r["name"] for r in rows]
    assert len(set(names)) == len(names), [n for n, k in Counter(names).items() if k > 1]
    for r, f in zip(rows, facts):
        assert r["text"] == r["name"] == r["group"] == f["name"]
        assert r["country"] == f["country"]
        assert abs(float(r["latitude"]) - float(f["latitude"])) < 0.006
        assert abs(float(r["longitude"]) - float(f["longitude"])) < 0.006
    kinds = Counter(f["kind"] for f in facts)
    assert set(kinds) == {"capital", "city", "landmark", "natural"}
    assert kinds["landmark"] + kinds["natural"] >= 50


def test_world_places_coordinates_in_range_and_in_country_bounds():
    bounds = {r["country"]: r for r in _rows(FACTS / "country_bounds.csv")}
    places = _rows(DATA / "world_places.csv")
    assert {p["country"] for p in places} == set(bounds), "bounds table and places disagree on countries"
    outside = []
    for p in places:
        lat, lon = float(p["latitude"]), float(p["longitude"])
        assert -90 <= lat <= 90 and -180 <= lon <= 180, p
        b = bounds[p["country"]]
        if not (float(b["min_lat"]) <= lat <= float(b["max_lat"]) and float(b["min_lon"]) <= lon <= float(b["max_lon"])):
            outside.append((p["name"], p["country"], lat, lon))
    assert not outside, outside
    # Both hemispheres in both directions are represented.
    lats = [float(p["latitude"]) for p in places]
    lons = [float(p["longitude"]) for p in places]
    assert min(lats) < -40 and max(lats) > 60 and min(lons) < -120 and max(lons) > 150


def test_country_bounds_are_rough_boxes_not_the_world():
    for b in _rows(FACTS / "country_bounds.csv"):
        lat_lo, lat_hi = float(b["min_lat"]), float(b["max_lat"])
        lon_lo, lon_hi = float(b["min_lon"]), float(b["max_lon"])
        assert -90 <= lat_lo < lat_hi <= 90 and -180 <= lon_lo < lon_hi <= 180, b
        assert lat_hi - lat_lo <= 55 and lon_hi - lon_lo <= 165, b  # Russia/US/Canada are the widest


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ("Paris", "London", 344), ("New York City", "Los Angeles", 3936), ("Sydney", "Melbourne", 714),
        ("Tokyo", "Osaka", 397), ("Madrid", "Barcelona", 505), ("Beijing", "Shanghai", 1068),
        ("Moscow", "Saint Petersburg", 634),
    ],
)
def test_world_places_known_distances(a, b, km):
    places = {r["name"]: (float(r["latitude"]), float(r["longitude"])) for r in _rows(DATA / "world_places.csv")}
    assert _haversine_km(places[a], places[b]) == pytest.approx(km, rel=0.08)


# --------------------------------------------------------------------------- number agreement


def test_nouns_table():
    nouns = _rows(FACTS / "nouns.csv")
    assert _header(FACTS / "nouns.csv") == ["singular", "plural"]
    assert len(nouns) >= 150
    singulars = [n["singular"] for n in nouns]
    plurals = [n["plural"] for n in nouns]
    assert len(set(singulars)) == len(singulars) and len(set(plurals)) == len(plurals)
    assert not set(singulars) & set(plurals)
    assert all(n["singular"] != n["plural"] and n["singular"].isalpha() and n["plural"].isalpha() for n in nouns)
    irregular = [n for n in nouns if not n["plural"].startswith(n["singular"])]
    assert len(irregular) >= 30
    assert {"child": "children", "mouse": "mice", "person": "people", "knife": "knives"}.items() <= {
        n["singular"]: n["plural"] for n in nouns
    }.items()


def test_number_agreement_balance_and_minimal_pairs():
    rows = _rows(DATA / "number_agreement.csv")
    assert _header(DATA / "number_agreement.csv") == ["text", "label", "group", "word_type"]
    nouns = {n["singular"]: n["plural"] for n in _rows(FACTS / "nouns.csv")}
    mod = _build_module()
    assert len(rows) == 2 * len(nouns) * len(mod.TEMPLATES)
    assert Counter(r["label"] for r in rows) == {"0": len(rows) // 2, "1": len(rows) // 2}
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == len(texts)
    by_group = defaultdict(list)
    for r in rows:
        by_group[r["group"]].append(r)
    assert len(by_group) == len(nouns) * len(mod.TEMPLATES)
    for group, pair in by_group.items():
        assert sorted(r["label"] for r in pair) == ["0", "1"], group
        sing = next(r for r in pair if r["label"] == "0")
        plur = next(r for r in pair if r["label"] == "1")
        lemma = sing["word_type"]
        assert plur["word_type"] == lemma and group.split("|")[0] == lemma
        a, b = sing["text"].split(" "), plur["text"].split(" ")
        assert len(a) == len(b)
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        assert len(diff) == 1, (sing["text"], plur["text"])
        assert a[diff[0]] == lemma and b[diff[0]] == nouns[lemma]
