"""Radar chart geometry and the SVG it is drawn as."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from cbassess.charts import (
    Point,
    RadarAxis,
    axis_angle,
    radar_layout,
    radar_point,
    radar_polygon,
    radar_svg,
    short_labels,
    text_width,
)

CENTER = Point(200.0, 150.0)
RADIUS = 100.0
SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert(1)</script> & "x"'


def near(point: Point, x: float, y: float) -> bool:
    return abs(point.x - x) <= 0.01 and abs(point.y - y) <= 0.01


def axes(count: int, value: float | None = 2) -> list[RadarAxis]:
    return [RadarAxis(f"Principle {n}", value) for n in range(count)]


def flat(points: list[Point]) -> list[float]:
    return [c for p in points for c in (p.x, p.y)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def polygons(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [p for p in root.iter(f"{SVG}polygon") if p.get("class") == css_class]


def vertices(polygon: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in polygon.get("points").split()]


# --------------------------------------------------------------------------- axis_angle


@pytest.mark.parametrize("count", [3, 4, 7, 15])
def test_first_spoke_points_straight_up(count):
    assert axis_angle(0, count) == pytest.approx(-math.pi / 2)


def test_spokes_are_evenly_spaced():
    steps = [axis_angle(i + 1, 5) - axis_angle(i, 5) for i in range(4)]
    assert steps == pytest.approx([2 * math.pi / 5] * 4)


def test_spokes_go_clockwise_on_screen():
    """SVG's y axis points down, so clockwise from the top means the second spoke is right."""
    second = radar_point(CENTER, RADIUS, 1, 3, 1.0)
    assert second.x > CENTER.x
    assert second.y > CENTER.y


# --------------------------------------------------------------------------- radar_point


@pytest.mark.parametrize("index", range(4))
def test_radar_point_at_fraction_0_is_the_centre(index):
    assert near(radar_point(CENTER, RADIUS, index, 4, 0.0), CENTER.x, CENTER.y)


@pytest.mark.parametrize(
    ("index", "expected"),
    [(0, (200, 50)), (1, (300, 150)), (2, (200, 250)), (3, (100, 150))],
    ids=["top", "right", "bottom", "left"],
)
def test_radar_point_at_fraction_1_is_on_the_rim_for_four_axes(index, expected):
    assert near(radar_point(CENTER, RADIUS, index, 4, 1.0), *expected)


def test_radar_point_at_half_fraction_is_halfway_along_the_spoke():
    assert near(radar_point(CENTER, RADIUS, 1, 4, 0.5), 250, 150)


def test_radar_point_below_0_is_clamped_to_the_centre():
    assert near(radar_point(CENTER, RADIUS, 2, 4, -0.7), CENTER.x, CENTER.y)


def test_radar_point_above_1_is_clamped_to_the_rim():
    assert near(radar_point(CENTER, RADIUS, 3, 4, 1.8), 100, 150)


def test_radar_point_is_rounded_to_two_decimals():
    point = radar_point(CENTER, RADIUS, 1, 7, 0.333)
    assert point.x == round(point.x, 2)
    assert point.y == round(point.y, 2)


# --------------------------------------------------------------------------- radar_polygon


def test_radar_polygon_maps_scale_minimum_to_the_centre_and_maximum_to_the_rim():
    shape = radar_polygon(CENTER, RADIUS, [0, 4, 0, 4], 0, 4)
    assert near(shape[0], 200, 150)
    assert near(shape[1], 300, 150)
    assert near(shape[2], 200, 150)
    assert near(shape[3], 100, 150)


def test_radar_polygon_places_a_middle_value_halfway():
    shape = radar_polygon(CENTER, RADIUS, [2, 2, 2, 2], 0, 4)
    assert flat(shape) == pytest.approx([200, 100, 250, 150, 200, 200, 150, 150])


def test_radar_polygon_draws_a_missing_value_at_the_centre():
    shape = radar_polygon(CENTER, RADIUS, [None, 4, 4, 4], 0, 4)
    assert near(shape[0], CENTER.x, CENTER.y)
    assert near(shape[1], 300, 150)


def test_radar_polygon_with_a_scale_starting_at_1():
    shape = radar_polygon(CENTER, RADIUS, [1, 4, 2.5, None], 1, 4)
    assert near(shape[0], 200, 150)
    assert near(shape[1], 300, 150)
    assert near(shape[2], 200, 200)
    assert near(shape[3], 200, 150)


def test_radar_polygon_has_one_vertex_per_value():
    assert len(radar_polygon(CENTER, RADIUS, [1] * 7, 0, 4)) == 7


@pytest.mark.parametrize("count", [3, 15])
def test_radar_polygon_accepts_3_to_15_axes(count):
    assert len(radar_polygon(CENTER, RADIUS, [1] * count, 0, 4)) == count


@pytest.mark.parametrize("count", [0, 1, 2])
def test_radar_polygon_refuses_fewer_than_3_axes(count):
    with pytest.raises(ValueError, match="3 to 15 axes"):
        radar_polygon(CENTER, RADIUS, [1] * count, 0, 4)


def test_radar_polygon_refuses_more_than_15_axes():
    with pytest.raises(ValueError, match="3 to 15 axes, not 16"):
        radar_polygon(CENTER, RADIUS, [1] * 16, 0, 4)


@pytest.mark.parametrize(("minimum", "maximum"), [(2, 2), (4, 0)])
def test_radar_polygon_refuses_a_scale_whose_maximum_is_not_above_its_minimum(minimum, maximum):
    with pytest.raises(ValueError, match="maximum must be above its minimum"):
        radar_polygon(CENTER, RADIUS, [1, 1, 1], minimum, maximum)


# --------------------------------------------------------------------------- radar_svg


@pytest.mark.parametrize("count", [3, 15])
def test_radar_svg_draws_3_to_15_axes(count):
    root = parse(radar_svg(axes(count), [0, 1, 2, 3, 4], "Scores"))
    spokes = [line for line in root.iter(f"{SVG}line") if line.get("class") == "radar-spoke"]
    labels = [text for text in root.iter(f"{SVG}text") if text.get("class") == "radar-label"]
    assert len(spokes) == count
    assert len(labels) == count


@pytest.mark.parametrize("count", [2, 16])
def test_radar_svg_refuses_fewer_than_3_or_more_than_15_axes(count):
    with pytest.raises(ValueError, match="3 to 15 axes"):
        radar_svg(axes(count), [0, 1, 2, 3, 4], "Scores")


def test_radar_svg_refuses_a_scale_with_a_single_level():
    with pytest.raises(ValueError, match="maximum must be above its minimum"):
        radar_svg(axes(4), [2], "Scores")


def test_radar_svg_is_an_image_with_a_title():
    root = parse(radar_svg(axes(5), [0, 1, 2, 3, 4], "Scores by principle"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == "Scores by principle"
    assert root.get("aria-labelledby") == title.get("id")


@pytest.mark.parametrize("count", [3, 5, 15])
def test_radar_svg_parses_as_xml_with_one_score_polygon_of_n_points(count):
    root = parse(radar_svg(axes(count), [0, 1, 2, 3, 4], "Scores"))
    (score,) = polygons(root, "radar-score")
    assert len(vertices(score)) == count


def test_radar_svg_score_polygon_has_the_radar_polygon_vertices():
    svg = radar_svg([RadarAxis("A", 4), RadarAxis("B", None), RadarAxis("C", 2),
                     RadarAxis("D", 0)], [0, 1, 2, 3, 4], "Scores", size=420)
    root = parse(svg)
    (score,) = polygons(root, "radar-score")
    drawn = vertices(score)
    layout = radar_layout([RadarAxis(n, None) for n in "ABCD"], size=420)
    center, radius = layout.center, 200  # the rim is size / 2 - 10 from the centre
    assert root.get("viewBox") == f"0 0 {layout.width:g} {layout.height:g}"
    assert (center.x, center.y) == (layout.width / 2, layout.height / 2)
    expected = radar_polygon(center, radius, [4, None, 2, 0], 0, 4)
    assert [c for xy in drawn for c in xy] == pytest.approx(flat(expected))


def test_radar_svg_draws_one_dot_per_axis():
    root = parse(radar_svg(axes(6), [0, 1, 2, 3, 4], "Scores"))
    dots = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "radar-dot"]
    assert len(dots) == 6


def test_radar_svg_draws_a_ring_per_level_above_the_lowest():
    root = parse(radar_svg(axes(4), [0, 1, 2, 3, 4], "Scores"))
    assert len(polygons(root, "radar-ring")) == 4


def test_radar_svg_with_a_scale_starting_at_1():
    svg = radar_svg([RadarAxis("A", 1), RadarAxis("B", 4), RadarAxis("C", 2.5)],
                    [1, 2, 3, 4], "Scores")
    root = parse(svg)
    (score,) = polygons(root, "radar-score")
    drawn = vertices(score)
    center = radar_layout([RadarAxis("A", 1), RadarAxis("B", 4), RadarAxis("C", 2.5)]).center
    assert drawn[0] == pytest.approx((center.x, center.y))
    assert drawn[1] != pytest.approx((center.x, center.y))
    assert len(polygons(root, "radar-ring")) == 3
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "radar-tick"]
    assert ticks == ["1", "2", "3", "4"]


def test_radar_svg_escapes_labels():
    svg = radar_svg([RadarAxis(EVIL, 1), RadarAxis("B", 2), RadarAxis("C", 3)],
                    [0, 1, 2, 3, 4], "Scores")
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "&amp;" in svg
    root = parse(svg)
    label = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "radar-label")
    assert " ".join(span.text for span in label) == EVIL


def test_radar_svg_escapes_the_title():
    svg = radar_svg(axes(3), [0, 1, 2, 3, 4], EVIL)
    assert "<script" not in svg
    assert parse(svg).find(f"{SVG}title").text == EVIL


def test_radar_svg_wraps_long_labels_into_lines():
    label = "Demand driven and responsive support"
    root = parse(radar_svg([RadarAxis(label, 1), RadarAxis("B", 2), RadarAxis("C", 3)],
                           [0, 1, 2, 3, 4], "Scores"))
    text = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "radar-label")
    lines = [span.text for span in text]
    assert len(lines) > 1
    assert " ".join(lines) == label


def test_radar_svg_without_comparison_draws_no_comparison_polygon():
    root = parse(radar_svg(axes(4), [0, 1, 2, 3, 4], "Scores"))
    assert polygons(root, "radar-comparison") == []


def test_radar_svg_with_comparison_draws_a_second_polygon():
    root = parse(radar_svg(axes(4, 3), [0, 1, 2, 3, 4], "Scores", comparison=[1, 2, None, 4]))
    (previous,) = polygons(root, "radar-comparison")
    (score,) = polygons(root, "radar-score")
    assert len(vertices(previous)) == 4
    assert vertices(previous) != vertices(score)
    assert previous.get("stroke-dasharray")


def test_radar_svg_draws_the_comparison_under_the_score():
    root = parse(radar_svg(axes(4, 3), [0, 1, 2, 3, 4], "Scores", comparison=[1, 2, 3, 4]))
    order = [p.get("class") for p in root.iter(f"{SVG}polygon")]
    assert order.index("radar-comparison") < order.index("radar-score")


# --------------------------------------------------------------------------- label layout

# Principle titles as long as real frameworks write them, in more than one script.
LONG_TITLES = [
    "Political will", "Ownership and commitment", "Holistic development",
    "Demand driven and responsive support", "Partnerships",
    "Governance and strategic management of the organisation",
    "Risk management and compliance", "Human resources: recruitment, training and careers",
    "Информационные технологии и данные", "الشفافية والمساءلة",
    "Stakeholder engagement and communication with the trade", "Integrity",
    "Performance measurement and continuous improvement", "Infrastructure and equipment",
    "Coordinated border management",
]
SHORT_KEYS = ["PW", "OC", "HD", "DD", "PA", "G-SM", "RM-C", "HR", "IT", "TA", "SE", "IN",
              "PM", "IE", "CBM"]


def layout_axes(count: int) -> list[RadarAxis]:
    return [RadarAxis(LONG_TITLES[n], n % 5, SHORT_KEYS[n]) for n in range(count)]


@pytest.mark.parametrize("abbreviate", [False, True])
@pytest.mark.parametrize("count", range(3, 16))
def test_every_label_lies_inside_the_chart_and_no_two_overlap(count, abbreviate):
    layout = radar_layout(layout_axes(count), abbreviate=abbreviate)
    assert len(layout.labels) == count
    for label in layout.labels:
        box = label.box
        assert 0 <= box.left < box.right <= layout.width, (count, label.lines)
        assert 0 <= box.top < box.bottom <= layout.height, (count, label.lines)
        # The box holds every line as estimated for the font, so no text is cut off.
        assert box.right - box.left >= max(text_width(line, label.font_size)
                                           for line in label.lines) - 0.01
    for n, first in enumerate(layout.labels):
        for second in layout.labels[n + 1:]:
            assert not first.box.overlaps(second.box), (count, first.lines, second.lines)
    # And no label covers the circle the data is drawn in: the nearest point of each box
    # lies outside it.
    center = layout.center
    for label in layout.labels:
        box = label.box
        nearest = (min(max(center.x, box.left), box.right), min(max(center.y, box.top),
                                                                   box.bottom))
        assert math.dist(nearest, (center.x, center.y)) >= layout.radius, label.lines


def test_a_few_axes_carry_their_full_titles():
    layout = radar_layout(layout_axes(5))
    assert not layout.abbreviated
    assert " ".join(layout.labels[3].lines) == "Demand driven and responsive support"


@pytest.mark.parametrize("count", [9, 12, 15])
def test_many_axes_carry_their_abbreviations_and_the_svg_names_each_in_full(count):
    axes_ = layout_axes(count)
    layout = radar_layout(axes_)
    assert layout.abbreviated
    assert [label.lines for label in layout.labels] == [(k,) for k in SHORT_KEYS[:count]]
    root = parse(radar_svg(axes_, [0, 1, 2, 3, 4], "Scores"))
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "radar-label"]
    assert [t.find(f"{SVG}title").text for t in labels] == LONG_TITLES[:count]


def test_abbreviations_longer_than_the_limit_give_way_to_numbers():
    axes_ = [RadarAxis(f"Title {n}", 1, f"KEY-LONGER-{n}") for n in range(10)]
    assert short_labels(axes_) == [str(n) for n in range(1, 11)]


def test_unequal_scores_draw_rings_at_each_score():
    root = parse(radar_svg(axes(4, 0.5), [0, 0.25, 0.5, 1], "Scores"))
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "radar-tick"]
    assert ticks == ["0", "0.25", "0.5", "1"]
    rings = polygons(root, "radar-ring")
    layout = radar_layout(axes(4, 0.5))
    tops = [vertices(ring)[0][1] for ring in rings]
    assert tops == pytest.approx([layout.center.y - 200 * f for f in (0.25, 0.5, 1)])
