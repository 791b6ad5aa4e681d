"""Drawing for the dashboard, done on the server: country shapes from the world-atlas TopoJSON projected
into SVG path data (parsed once per process), the map's colour classes, and a stacked bar chart."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from markupsafe import Markup, escape

from crm.countries.services import SEEDS_DIR
from crm.web import id_markup, id_parts

WORLD_FILE = SEEDS_DIR / "world" / "countries-110m.json"
MAP_WIDTH = 960.0

# Shapes the file gives without an ISO 3166-1 numeric code. Kosovo is a country of ours with the
# user-assigned alpha-3 XKX; Northern Cyprus and Somaliland are drawn as part of the state the UN
# recognises, so that every government has exactly one shape.
ALPHA3_BY_NAME = {"Kosovo": "XKX"}
PART_OF = {"N. Cyprus": "196", "Somaliland": "706"}
# Antarctica has no government to write to, and at this scale it is a smear along the bottom edge.
LEFT_OUT = {"010"}

# Colour classes of the map, lightest first. Each has its own lightness (CIE L*, checked in the tests)
# so the map reads in greyscale; "no answer" and "responded" also carry a pattern (dots, hatching).
# `fill` is the base colour; `paint` what the shape is filled with (a pattern where there is one).
MAP_STYLES = {
    "not_target": {"fill": "#e4e6ea", "pattern": None},
    "no_answer": {"fill": "#e8c44e", "pattern": "dots", "ink": "#3d3000"},
    "responded": {"fill": "#de8a52", "pattern": "hatch", "ink": "#3b1800"},
    "supportive": {"fill": "#2f8c7f", "pattern": None},
    "acted": {"fill": "#1d2f5c", "pattern": None},
}


def paint(css_class: str) -> str:
    style = MAP_STYLES[css_class]
    return f"url(#map-{css_class})" if style["pattern"] else style["fill"]


@dataclass(frozen=True)
class CountryShape:
    numeric_code: str | None
    alpha3: str | None
    name: str  # the file's English name; the page shows the database's name
    d: str


@dataclass(frozen=True)
class WorldMap:
    width: float
    height: float
    shapes: tuple[CountryShape, ...]


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """The topology's arcs as lists of (longitude, latitude). Quantised arcs are delta-encoded: each
    position after the first is an offset from the one before, in grid units of the transform."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs.append([(float(p[0]), float(p[1])) for p in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        x = y = 0
        points = []
        for dx, dy, *_ in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_points(ring: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """A closed ring from its arc indexes; a negative index ~i is arc i walked backwards. Consecutive
    arcs share an end point, which is kept once."""
    points: list[tuple[float, float]] = []
    for index in ring:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


# Equal Earth (Šavrič, Patterson and Jenny, 2018): an equal-area projection made for world maps.
_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_M = math.sqrt(3) / 2


def equal_earth(longitude: float, latitude: float) -> tuple[float, float]:
    lam, phi = math.radians(longitude), math.radians(latitude)
    theta = math.asin(_M * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = lam * math.cos(theta) / (_M * (_A1 + 3 * _A2 * t2 + t6 * (7 * _A3 + 9 * _A4 * t2)))
    y = theta * (_A1 + _A2 * t2 + t6 * (_A3 + _A4 * t2))
    return x, y


def _clip(ring: list[tuple[float, float]], edge: float, keep_below: bool) -> list[tuple[float, float]]:
    """Sutherland-Hodgman: the part of a ring on one side of the meridian `edge`."""
    inside = (lambda lon: lon <= edge) if keep_below else (lambda lon: lon >= edge)
    result: list[tuple[float, float]] = []
    for index, current in enumerate(ring):
        previous = ring[index - 1]
        if inside(current[0]) != inside(previous[0]):
            share = (edge - previous[0]) / (current[0] - previous[0])
            result.append((edge, previous[1] + share * (current[1] - previous[1])))
        if inside(current[0]):
            result.append(current)
    return result


def cut_at_antimeridian(ring: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A ring that crosses longitude 180 (Fiji, Chukotka) jumps from one edge of the map to the other;
    unwrapped and clipped, it becomes one piece on each side."""
    if all(abs(b[0] - a[0]) <= 180 for a, b in zip(ring, ring[1:], strict=False)):
        return [ring]
    unwrapped = [ring[0]]
    for lon, lat in ring[1:]:
        previous = unwrapped[-1][0]
        lon += 360 * round((previous - lon) / 360)
        unwrapped.append((lon, lat))
    pieces = []
    for shift in (-360, 0, 360):
        shifted = [(lon + shift, lat) for lon, lat in unwrapped]
        if min(lon for lon, _ in shifted) >= 180 or max(lon for lon, _ in shifted) <= -180:
            continue
        piece = _clip(_clip(shifted, 180, keep_below=True), -180, keep_below=False)
        if len(piece) >= 3:
            pieces.append(piece)
    return pieces


def _number(value: float) -> str:
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _tenths(value: int) -> str:
    """A number of tenths as SVG path data writes it shortest: 12 -> "1.2", 5 -> ".5", -5 -> "-.5"."""
    text = _number(value / 10)
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def _ring_path(points: list[tuple[int, int]]) -> str:
    """A closed ring of points in tenths: "M" and the first point, then "l" and each step from the point
    before (a minus sign separates two numbers by itself), then "Z"."""
    (x, y), steps = points[0], []
    for next_x, next_y in points[1:]:
        dx, dy = _tenths(next_x - x), _tenths(next_y - y)
        steps.append(dx + ("" if dy.startswith("-") else ",") + dy)
        x, y = next_x, next_y
    path = steps[0]
    for step in steps[1:]:
        path += step if step.startswith("-") else " " + step
    return f"M{_tenths(points[0][0])},{_tenths(points[0][1])}l{path}Z"


def _polygons(geometry: dict) -> list[list[list[int]]]:
    if geometry.get("type") == "Polygon":
        return [geometry["arcs"]]
    if geometry.get("type") == "MultiPolygon":
        return geometry["arcs"]
    return []


def load_world(path: Path = WORLD_FILE, width: float = MAP_WIDTH) -> WorldMap:
    """Every country of the file as SVG path data in a box `width` wide, y downwards."""
    topology = json.loads(Path(path).read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    geometries = topology["objects"]["countries"]["geometries"]
    projected: dict[str, list[list[tuple[float, float]]]] = {}
    names: dict[str, str] = {}
    order: list[str] = []
    for geometry in geometries:
        name = (geometry.get("properties") or {}).get("name", "")
        code = geometry.get("id")
        if code in LEFT_OUT:
            continue
        key = code or PART_OF.get(name) or ALPHA3_BY_NAME.get(name)
        if key is None:
            continue
        rings = [
            [equal_earth(lon, lat) for lon, lat in piece]
            for polygon in _polygons(geometry)
            for ring in polygon
            for piece in cut_at_antimeridian(ring_points(ring, arcs))
        ]
        if key not in projected:
            projected[key] = []
            order.append(key)
        if code or name in ALPHA3_BY_NAME:
            names[key] = name
        projected[key].extend(rings)
    xs = [x for rings in projected.values() for ring in rings for x, _ in ring]
    ys = [y for rings in projected.values() for ring in rings for _, y in ring]
    left, right, bottom, top = min(xs), max(xs), min(ys), max(ys)
    scale = width / (right - left)
    shapes = []
    for key in order:
        parts = []
        for ring in projected[key]:
            # Points on a grid of tenths of a unit; after the first, each is written as its step from the
            # one before ("l"), which is shorter: the map is drawn inline in every dashboard page.
            points: list[tuple[int, int]] = []
            for x, y in ring:
                point = (round((x - left) * scale * 10), round((top - y) * scale * 10))
                if not points or point != points[-1]:
                    points.append(point)
            if len(points) >= 3:
                parts.append(_ring_path(points))
        numeric = key if key.isdigit() else None
        shapes.append(
            CountryShape(
                numeric_code=numeric, alpha3=None if numeric else key, name=names.get(key, key), d="".join(parts)
            )
        )
    return WorldMap(width=width, height=round((top - bottom) * scale, 1), shapes=tuple(shapes))


@lru_cache(maxsize=1)
def world_map() -> WorldMap:
    """The shapes, parsed and projected once per process (the file ships with the app and never changes
    while it runs)."""
    return load_world()


# A country whose withdrawal from the Rome Statute is pending is outlined, dashed.
WITHDRAWING_OUTLINE = ' stroke="#1d2330" stroke-width="0.9" stroke-dasharray="2 1.2"'


def _key(shape: CountryShape) -> str:
    return shape.numeric_code or shape.alpha3


def map_patterns() -> Markup:
    """The two classes' fills that are patterns (dots, hatching), defined where the map is drawn and again in
    the shapes' file: a fill inherited into a shape drawn from that file may be resolved in either."""
    no_answer, responded = MAP_STYLES["no_answer"], MAP_STYLES["responded"]
    return Markup(
        '<pattern id="map-no_answer" patternUnits="userSpaceOnUse" width="3" height="3">'
        f'<rect width="3" height="3" fill="{no_answer["fill"]}"/>'
        f'<circle cx="1.5" cy="1.5" r="0.6" fill="{no_answer["ink"]}"/></pattern>'
        '<pattern id="map-responded" patternUnits="userSpaceOnUse" width="3" height="3" patternTransform="rotate(45)">'
        f'<rect width="3" height="3" fill="{responded["fill"]}"/>'
        f'<rect width="1" height="3" fill="{responded["ink"]}"/></pattern>'
    )


@lru_cache(maxsize=1)
def shapes_file() -> tuple[bytes, str]:
    """Every country's outline as one SVG file of definitions (a <path> each, its id "c" and its code), and
    its fingerprint. A page's map draws each shape from it (<use>) with what the campaign fills in: the
    outlines are the same for every campaign and reader, some 90 KB that the browser keeps once, under a
    URL that names its content (served by the dashboard's `shapes` route, cached for good)."""
    world = world_map()
    paths = "".join(f'\n<path id="c{escape(_key(shape))}" d="{escape(shape.d)}"/>' for shape in world.shapes)
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {world.width} {world.height}"><defs>{map_patterns()}{paths}\n</defs></svg>\n'
    )
    data = svg.encode("utf-8")
    return data, hashlib.sha256(data).hexdigest()[:16]


@lru_cache(maxsize=4)
def _shape_parts(shapes_url: str | None) -> dict[str, tuple[str, str, str]]:
    """Each shape's element around what a campaign fills in (its fill and class): before, the outline (drawn
    from the shapes' file at `shapes_url`, or given whole where there is none); after, its code; then its
    end tag. Escaped and joined once per process, like the shapes themselves: a page drawing them through
    the template escaped each again on every request."""
    if shapes_url is None:
        return {
            _key(shape): (f'<path d="{escape(shape.d)}" fill="', f'" data-iso="{escape(_key(shape))}"', "</path>")
            for shape in world_map().shapes
        }
    return {
        _key(shape): (
            f'<use href="{escape(shapes_url)}#c{escape(_key(shape))}" fill="',
            f'" data-iso="{escape(_key(shape))}"',
            "</use>",
        )
        for shape in world_map().shapes
    }


def escaped_urls(record_url):
    """`record_url` (a function of a record's id) as a function giving its URL escaped for an attribute,
    escaped once for the page and each id put where the id was (crm.web.id_markup), rather than each row's
    URL escaped anew."""
    return id_markup(lambda record_id: escape(record_url(record_id)))


def country_paths(
    entries, language: str, labels: dict[str, str], standing_words, record_url=None, shapes_url: str | None = None
) -> Markup:
    """The map's countries as SVG: each entry's shape (services.MapEntry) filled by its class, titled with
    the country's name in `language`, its class's words in `labels` and, where a withdrawal from the
    Rome Statute is pending, its standing (`standing_words(standing)`), outlined dashed. With
    `record_url` (a function of a record's id), a target government's shape links to its positions.
    Only these differ from one campaign or reader to the next; the rest is made once per process. Given
    `shapes_url` (where shapes_file is served), each shape is drawn from that file rather than written out.

    Drawn once for each set of these (plain values: each shape's code, name, class, record and standing
    in words): the map is a function of those alone, and they stay the same from one visit to the next
    until a record, a position or a country changes, which makes another set."""
    drawn = tuple(
        (
            _key(entry.shape),
            entry.country.name(language) if entry.country else entry.shape.name,
            entry.css_class,
            entry.government.record.id if entry.government and record_url else None,
            standing_words(entry.withdrawing) if entry.withdrawing else None,
        )
        for entry in entries
    )
    if not record_url:
        return _kept_country_paths(drawn, tuple(labels.items()), None, shapes_url)
    pattern = id_parts(record_url)
    if pattern is None:
        return _country_paths(drawn, tuple(labels.items()), escaped_urls(record_url), shapes_url)
    return _kept_country_paths(drawn, tuple(labels.items()), pattern, shapes_url)


@lru_cache(maxsize=32)
def _kept_country_paths(drawn, labels, pattern: tuple[str, ...] | None, shapes_url: str | None) -> Markup:
    if pattern is None:
        return _country_paths(drawn, labels, None, shapes_url)
    escaped = tuple(map(escape, pattern))
    return _country_paths(drawn, labels, lambda record_id: str(record_id).join(escaped), shapes_url)


def _country_paths(drawn, labels, url, shapes_url: str | None) -> Markup:
    """country_paths' drawing of its plain values, `url` a function of a record's id giving its URL escaped."""
    parts = _shape_parts(shapes_url)
    by_class = {
        css_class: (f'{escape(paint(css_class))}" class="country {escape(css_class)}', escape(words))
        for css_class, words in labels
    }
    lines = []
    for key, name, css_class, record_id, standing in drawn:
        before, after, end = parts[key]
        fill_and_class, words = by_class[css_class]
        if standing is not None:
            outline, rome = WITHDRAWING_OUTLINE, escape(" · " + standing)
        else:
            outline = rome = ""
        path = f"{before}{fill_and_class}{after}{outline}><title>{escape(name)}: {words}{rome}</title>{end}"
        if record_id is not None and url:
            path = f'<a href="{url(record_id)}#positions">{path}</a>'
        lines.append(path)
    return Markup("".join(f"\n{path}" for path in lines))


def map_table_rows(rows, labels: dict[str, str], stance_labels: dict[str, str], record_url, too_small: str) -> Markup:
    """The body of the map's data table, the map said in words for those who cannot see it: a row per
    government (services.GovernmentRow) with its name linking to its record's positions, `too_small`
    beside those the map cannot draw, its response in `labels`' words with its swatch, and its stance on
    each demand in `stance_labels`' words ("—" for none). Joined here for the same reason as the map:
    a campaign has a row per target government, and a template pays for every value it writes.

    Written once for each set of rows and words: the table is a function of those alone (rows of plain
    values), and a campaign's rows stay the same from one visit to the next until a record changes."""
    pattern = id_parts(record_url)
    if pattern is None:
        return _map_table_rows(tuple(rows), tuple(labels.items()), tuple(stance_labels.items()), record_url, too_small)
    return _kept_map_table_rows(tuple(rows), tuple(labels.items()), tuple(stance_labels.items()), pattern, too_small)


@lru_cache(maxsize=32)
def _kept_map_table_rows(rows, labels, stance_labels, pattern: tuple[str, ...], too_small: str) -> Markup:
    return _map_table_rows(rows, labels, stance_labels, lambda record_id: str(record_id).join(pattern), too_small)


def _map_table_rows(rows, labels, stance_labels, record_url, too_small: str) -> Markup:
    responses = {
        css_class: (
            f'<span class="response response-{escape(css_class)}"><svg class="swatch" width="18" height="12" '
            f'aria-hidden="true"><use href="#swatch-{escape(css_class)}"/></svg> {escape(words)}</span>'
        )
        for css_class, words in labels
    }
    # Each row on a line of its own, unindented: the page carries some hundreds of them.
    cells = {stance: f"<td>{escape(words)}</td>" for stance, words in stance_labels}
    cells[None] = "<td>—</td>"
    note = f' <small class="hint">{escape(too_small)}</small>'
    url = escaped_urls(record_url)
    return Markup(
        "".join(
            f'\n<tr data-iso="{escape(row.alpha3)}"><th scope="row">'
            f'<a href="{url(row.record_id)}#positions">{escape(row.name)}</a>'
            f"{note if row.off_map else ''}</th><td>{responses[row.response]}</td>"
            f"{''.join(cells[stance] for stance in row.stances)}</tr>"
            for row in rows
        )
    )


class Bar(NamedTuple):
    """One bar of a stacked bar chart (a tuple: a chart of some years has a hundred of them)."""

    label: str
    x: float
    width: float
    segments: tuple[tuple[str, float, float, int], ...]  # (class, y, height, count)


def stacked_bars(
    rows: list[tuple[str, dict[str, int]]], classes: tuple[str, ...], *, width: float = 640, height: float = 200
) -> tuple[list[Bar], int]:
    """Geometry of a stacked bar chart: one bar per (label, counts), segments stacked in `classes`
    order from the bottom. Returns the bars and the largest total (the axis top)."""
    top = max((sum(counts.get(c, 0) for c in classes) for _, counts in rows), default=0) or 1
    slot = width / max(len(rows), 1)
    bar_width = round(slot * 0.7, 1)
    bars = []
    for index, (label, counts) in enumerate(rows):
        y = height
        segments = []
        for css_class in classes:
            count = counts.get(css_class, 0)
            if not count:
                continue
            h = height * count / top
            y -= h
            segments.append((css_class, round(y, 1), round(h, 1), count))
        bars.append(Bar(label, round(index * slot + slot * 0.15, 1), bar_width, tuple(segments)))
    return bars, top


def bar_chart(bars: list[Bar], labels: dict[str, str]) -> Markup:
    """The stacked bars as SVG: each bar a group titled with its label and its counts in `labels`' words,
    its segments filled as the map fills their classes, and under every few bars (about twelve labels
    in all) its label. Joined here rather than in the template: a campaign of some years has a hundred
    bars of a few segments each, and a template pays for every value it writes."""
    every = math.ceil(len(bars) / 12) or 1
    words = {css_class: escape(text) for css_class, text in labels.items()}
    fills = {css_class: escape(paint(css_class)) for css_class in labels}
    drawn = []
    for index, (label, x, width, segments) in enumerate(bars):
        label = escape(label)
        counts = ",".join([f" {words[css_class]} {count}" for css_class, _y, _height, count in segments])
        place, size = f'<rect x="{x}" y="', f'" width="{width}" height="'
        rects = "".join(
            [f'{place}{y}{size}{height}" fill="{fills[css_class]}"/>' for css_class, y, height, _count in segments]
        )
        drawn.append(f"\n<g><title>{label}:{counts}</title>{rects}</g>")
        if index % every == 0:
            drawn.append(
                f'<text x="{x + width / 2}" y="218" text-anchor="middle" fill="#1d2330" stroke="none">{label}</text>'
            )
    return Markup("".join(drawn))
