"""The map's geometry: TopoJSON decoding, the projection, the antimeridian, the shapes of the shipped
file, and colours that stay apart in greyscale. No database needed."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

from crm.dashboard import maps

SVG = "{http://www.w3.org/2000/svg}"


def test_quantised_arcs_are_delta_decoded():
    topology = {
        "transform": {"scale": [0.5, 2], "translate": [-10, 5]},
        "arcs": [[[0, 0], [2, 0], [0, 3]], [[4, 1], [-1, -1]]],
    }
    assert maps.decode_arcs(topology) == [[(-10, 5), (-9, 5), (-9, 11)], [(-8, 7), (-8.5, 5)]]


def test_arcs_without_a_transform_are_read_as_they_are():
    assert maps.decode_arcs({"arcs": [[[1, 2], [3, 4]]]}) == [[(1.0, 2.0), (3.0, 4.0)]]


def test_a_ring_joins_its_arcs_and_walks_negative_ones_backwards():
    arcs = [[(0, 0), (1, 0), (1, 1)], [(0, 0), (0, 1), (1, 1)]]
    # Arc 0 forwards, then arc 1 (~1 == -2) backwards; the shared point (1, 1) is kept once.
    assert maps.ring_points([0, -2], arcs) == [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]


def test_equal_earth_projection():
    assert maps.equal_earth(0, 0) == (0.0, 0.0)
    x, y = maps.equal_earth(180, 0)
    # On the equator x = lambda / (M * A1), as in the published formula.
    assert x == pytest.approx(math.pi / (math.sqrt(3) / 2 * 1.340264))
    assert y == 0
    east, north = maps.equal_earth(30, 45)
    assert maps.equal_earth(-30, -45) == (pytest.approx(-east), pytest.approx(-north))
    # Meridians bend inwards towards the poles.
    assert maps.equal_earth(180, 60)[0] < x


def test_a_ring_across_the_antimeridian_is_cut_in_two():
    ring = [(178, -16), (-179, -16), (-179, -18), (178, -18), (178, -16)]
    pieces = maps.cut_at_antimeridian(ring)
    assert len(pieces) == 2
    spans = sorted((min(p[0] for p in piece), max(p[0] for p in piece)) for piece in pieces)
    assert spans == [(-180, -179), (178, 180)]
    assert maps.cut_at_antimeridian([(0, 0), (1, 0), (1, 1), (0, 0)]) == [[(0, 0), (1, 0), (1, 1), (0, 0)]]


def test_the_shipped_world_has_one_shape_per_country():
    world = maps.world_map()
    assert world is maps.world_map()  # parsed once per process
    topology = json.loads(maps.WORLD_FILE.read_text(encoding="utf-8"))
    ids = {g.get("id") for g in topology["objects"]["countries"]["geometries"]} - {None}
    numeric = [shape.numeric_code for shape in world.shapes if shape.numeric_code]
    assert len(numeric) == len(set(numeric)) == len(ids) - 1  # all but Antarctica
    assert "010" not in numeric
    assert [shape.alpha3 for shape in world.shapes if shape.alpha3] == ["XKX"]
    assert all(shape.d.startswith("M") and shape.d.endswith("Z") for shape in world.shapes)
    assert world.width == maps.MAP_WIDTH and 380 < world.height < 480


def test_somaliland_and_northern_cyprus_are_drawn_with_the_states_the_un_recognises():
    topology = json.loads(maps.WORLD_FILE.read_text(encoding="utf-8"))
    rings: dict[str, int] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry["properties"]["name"]
        count = len(geometry["arcs"]) if geometry["type"] == "Polygon" else sum(len(p) for p in geometry["arcs"])
        rings[name] = count
    shapes = {shape.numeric_code: shape for shape in maps.world_map().shapes}
    assert shapes["706"].d.count("M") == rings["Somalia"] + rings["Somaliland"]
    assert shapes["196"].d.count("M") == rings["Cyprus"] + rings["N. Cyprus"]


NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")


def _points(d: str):
    """The absolute points of path data made of rings "M x,y l dx,dy dx,dy ... Z"."""
    for ring in d.split("Z")[:-1]:
        start, _, steps = ring.lstrip("M").partition("l")
        x, y = (float(v) for v in NUMBER.findall(start))
        yield x, y
        numbers = [float(v) for v in NUMBER.findall(steps)]
        assert len(numbers) % 2 == 0
        for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
            x, y = x + dx, y + dy
            yield x, y


def test_shapes_stay_inside_the_box():
    world = maps.world_map()
    for shape in world.shapes:
        assert re.fullmatch(r"(M[-\d.,]+l[-\d., ]+Z)+", shape.d), shape.name
        for x, y in _points(shape.d):
            assert -0.1 <= x <= world.width + 0.1 and -0.1 <= y <= world.height + 0.1, shape.name


def test_steps_between_points_add_up_to_the_points_on_the_grid():
    ring = [(9533, 2995), (9542, 2989), (9547, 2999), (9533, 2995)]
    d = maps._ring_path(ring)
    assert d == "M953.3,299.5l.9-.6 .5,1-1.4-.4Z"
    assert [(round(x * 10), round(y * 10)) for x, y in _points(d)] == ring


def _lightness(hex_colour: str) -> float:
    """CIE L* of an sRGB colour: what is left of it in greyscale."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 116 * (luminance ** (1 / 3) if luminance > 0.008856 else 7.787 * luminance + 16 / 116) - 16


def test_the_map_classes_read_in_greyscale():
    styles = maps.MAP_STYLES
    lightness = [_lightness(styles[c]["fill"]) for c in ("not_target", "no_answer", "responded", "supportive", "acted")]
    # Lightest to darkest, each at least 10 L* from the next...
    assert all(a - b >= 10 for a, b in zip(lightness, lightness[1:], strict=False)), lightness
    # ...and two classes also carry a pattern, whose ink contrasts with its ground.
    patterned = [c for c, s in styles.items() if s["pattern"]]
    assert len(patterned) >= 2
    for css_class in patterned:
        assert _lightness(styles[css_class]["fill"]) - _lightness(styles[css_class]["ink"]) > 40
        assert maps.paint(css_class) == f"url(#map-{css_class})"
    assert maps.paint("acted") == styles["acted"]["fill"]


def test_stacked_bars_share_one_scale():
    bars, top = maps.stacked_bars(
        [("2018-05", {"a": 2, "b": 1}), ("2018-06", {"a": 1, "b": 5})], ("a", "b"), width=200, height=100
    )
    assert top == 6
    assert [segment[3] for segment in bars[1].segments] == [1, 5]
    heights = [segment[2] for segment in bars[1].segments]
    assert sum(heights) == pytest.approx(100, abs=0.2)
    assert bars[0].segments[0][1] == pytest.approx(100 - 100 * 2 / 6, abs=0.1)
    assert maps.stacked_bars([], ("a",)) == ([], 1)


def _drawn(markup: str):
    """Drawn SVG elements, parsed as a browser would (well-formed XML, or the map is blank)."""
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{markup}</svg>')


def _entry(shape, name, css_class, record_id=None, withdrawing=None):
    return SimpleNamespace(
        shape=shape,
        country=SimpleNamespace(name=lambda language: f"{name} ({language})"),
        government=SimpleNamespace(record=SimpleNamespace(id=record_id)) if record_id else None,
        css_class=css_class,
        withdrawing=withdrawing,
    )


def test_each_country_is_drawn_with_its_response_and_links_to_its_record_where_asked():
    first, second = maps.world_map().shapes[:2]
    entries = [
        _entry(first, "Trinidad & <Tobago>", "acted", record_id=7, withdrawing="pending"),
        _entry(second, "Elsewhere", "not_target"),
    ]
    labels = {"acted": "Acted", "not_target": "Not a target"}
    drawn = maps.country_paths(entries, "en", labels, lambda standing: f"withdrawal {standing}", lambda id: f"/o/{id}")
    root = _drawn(drawn)
    link, path = list(root)
    assert link.tag == SVG + "a" and link.get("href") == "/o/7#positions"
    linked = link.find(SVG + "path")
    # The outline is the shape's own; the campaign gives the fill, the class and the words.
    assert linked.get("d") == first.d and linked.get("data-iso") == (first.numeric_code or first.alpha3)
    assert (linked.get("fill"), linked.get("class")) == (maps.paint("acted"), "country acted")
    assert linked.find(SVG + "title").text == "Trinidad & <Tobago> (en): Acted · withdrawal pending"
    assert linked.get("stroke-dasharray")
    # A country that is not a target links nowhere and is not outlined.
    assert path.tag == SVG + "path" and path.get("class") == "country not_target" and not path.get("stroke-dasharray")
    assert path.find(SVG + "title").text == "Elsewhere (en): Not a target"
    # Without a link for records (the map alone, the public board), no shape links anywhere.
    alone = _drawn(maps.country_paths(entries, "es", labels, str))
    assert [element.tag for element in alone] == [SVG + "path", SVG + "path"]
    assert alone[0].find(SVG + "title").text == "Trinidad & <Tobago> (es): Acted · pending"


def test_a_page_draws_each_country_from_the_shapes_file_with_its_response():
    first, second = maps.world_map().shapes[:2]
    entries = [_entry(first, "Chile", "acted", record_id=7), _entry(second, "Elsewhere", "not_target")]
    labels = {"acted": "Acted", "not_target": "Not a target"}
    root = _drawn(maps.country_paths(entries, "en", labels, str, lambda id: f"/o/{id}", "/shapes-abc.svg"))
    link, alone = list(root)
    used = link.find(SVG + "use")
    key = first.numeric_code or first.alpha3
    assert used.get("href") == f"/shapes-abc.svg#c{key}" and used.get("data-iso") == key
    assert (used.get("fill"), used.get("class")) == (maps.paint("acted"), "country acted")
    assert used.find(SVG + "title").text == "Chile (en): Acted"
    assert alone.tag == SVG + "use" and alone.find(SVG + "title").text == "Elsewhere (en): Not a target"
    # Drawn once for the same shapes, words and links; a change of any is drawn anew.
    drawn = maps.country_paths(entries, "en", labels, str, lambda id: f"/o/{id}", "/shapes-abc.svg")
    assert maps.country_paths(list(entries), "en", labels, str, lambda id: f"/o/{id}", "/shapes-abc.svg") is drawn
    entries[1].css_class = "acted"
    assert drawn.count("country acted") == 1
    moved = maps.country_paths(entries, "en", labels, str, lambda id: f"/o/{id}", "/shapes-abc.svg")
    assert moved.count("country acted") == 2
    assert 'href="/crm/o/7#positions"' in maps.country_paths(entries, "en", labels, str, lambda id: f"/crm/o/{id}")
    # The file has every shape under that id, and the patterns the fills name.
    data, fingerprint = maps.shapes_file()
    shapes = ET.fromstring(data)
    outlines = {path.get("id"): path.get("d") for path in shapes.iter(SVG + "path")}
    assert outlines == {f"c{shape.numeric_code or shape.alpha3}": shape.d for shape in maps.world_map().shapes}
    assert {pattern.get("id") for pattern in shapes.iter(SVG + "pattern")} == {"map-no_answer", "map-responded"}
    assert len(fingerprint) == 16 and not any(path.get("fill") for path in shapes.iter(SVG + "path"))


def test_the_bars_are_titled_with_their_counts_and_labelled_about_twelve_times():
    months = [(f"M&{n}", {"responded": n, "acted": 1}) for n in range(24)]
    bars, _top = maps.stacked_bars(months, ("responded", "acted"))
    root = _drawn(maps.bar_chart(bars, {"responded": "<Responded>", "acted": "Acted"}))
    groups = root.findall(SVG + "g")
    assert len(groups) == 24
    assert groups[3].find(SVG + "title").text == "M&3: <Responded> 3, Acted 1"
    assert groups[0].find(SVG + "title").text == "M&0: Acted 1"  # an empty segment is left out
    # Each segment is filled as the map fills its class, stacked from the bottom.
    rects = groups[3].findall(SVG + "rect")
    assert [rect.get("fill") for rect in rects] == [maps.paint("responded"), maps.paint("acted")]
    assert float(rects[0].get("y")) > float(rects[1].get("y"))
    # Every second bar is named under the axis, so that about twelve names fit.
    assert [text.text for text in root.findall(SVG + "text")] == [f"M&{n}" for n in range(0, 24, 2)]


def test_the_maps_table_says_each_government_in_words_and_names_those_too_small_to_draw():
    from crm.dashboard.services import GovernmentRow

    rows = [
        GovernmentRow(7, "TTO", "Trinidad & Tobago", False, "acted", ("supportive", None)),
        GovernmentRow(9, "MLT", "Malta", True, "no_answer", (None, None)),
    ]
    labels, stance_labels = {"acted": "Acted", "no_answer": "No <answer>"}, {"supportive": "Supportive"}
    body = maps.map_table_rows(rows, labels, stance_labels, lambda id: f"/o/{id}", "(too small)")
    root = ET.fromstring(f"<tbody>{body}</tbody>")
    first, second = root.findall("tr")
    assert first.get("data-iso") == "TTO" and first.find("th/a").get("href") == "/o/7#positions"
    assert first.find("th/a").text == "Trinidad & Tobago" and first.find("th/small") is None
    assert ["".join(td.itertext()).strip() for td in first.findall("td")] == ["Acted", "Supportive", "—"]
    assert first.find("td/span").get("class") == "response response-acted"
    assert second.find("th/small").text == "(too small)"
    assert ["".join(td.itertext()).strip() for td in second.findall("td")] == ["No <answer>", "—", "—"]
    # Written once for the same rows, words and links; other rows, or links, are written anew.
    assert maps.map_table_rows(list(rows), labels, stance_labels, lambda id: f"/o/{id}", "(too small)") is body
    moved = maps.map_table_rows(
        [rows[0]._replace(response="no_answer"), rows[1]], labels, stance_labels, lambda id: f"/o/{id}", "(too small)"
    )
    assert moved.count("No &lt;answer&gt;") == 2
    mounted = maps.map_table_rows(rows, labels, stance_labels, lambda id: f"/crm/o/{id}", "(too small)")
    assert 'href="/crm/o/7#positions"' in mounted
    # Links that are not an id between two fixed texts are written for each row, as they come.
    odd = maps.map_table_rows(rows, labels, stance_labels, lambda id: f"/o/{id}?n={id % 2}", "(too small)")
    assert 'href="/o/7?n=1#positions"' in odd and 'href="/o/9?n=1#positions"' in odd


def test_the_responses_over_time_are_drawn_for_each_series_and_readers_words():
    from crm.dashboard.tables import over_time

    may, june = dt.date(2018, 5, 1), dt.date(2018, 6, 1)
    classes = ("no_answer", "acted")
    series = [(may, (2, 0)), (june, (1, 1))]
    english = over_time(series, classes, "en", {"no_answer": "No answer", "acted": "Acted"})
    assert english.top == 2 and "<title>June 2018: No answer 1, Acted 1</title>" in english.bars
    assert '<tr data-month="2018-06"><th scope="row">June 2018</th>' in english.rows
    # Drawn once for a series and the reader's words: another series, or other words, is drawn anew.
    assert over_time(list(series), classes, "en", {"no_answer": "No answer", "acted": "Acted"}) is english
    moved = over_time([*series[:1], (june, (0, 2))], classes, "en", {"no_answer": "No answer", "acted": "Acted"})
    assert "<title>June 2018: Acted 2</title>" in moved.bars
    spanish = over_time(series, classes, "es", {"no_answer": "Sin respuesta", "acted": "Actuó"})
    assert "<title>junio de 2018: Sin respuesta 1, Actuó 1</title>" in spanish.bars
