"""The results charts: inline SVG with a title and a description, escaped text, whole numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from newsletter.web.admin.charts import bar_chart, line_chart, lines

SVG = "{http://www.w3.org/2000/svg}"


def test_a_line_chart_names_itself_for_screen_readers_and_draws_one_line_per_series() -> None:
    svg = str(line_chart("t", "Issue <1> & more", "6 delivered, 1 bounced", ["+0h", "+1h"],
                         lines([("delivered", [4, 2]), ("bounced", [0, 1])])))
    root = ET.fromstring(  # noqa: S314 - our own output
        svg)  # well-formed XML: every text was escaped
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "t-title t-desc"
    assert root.findtext(f"{SVG}title") == "Issue <1> & more"
    assert root.findtext(f"{SVG}desc") == "6 delivered, 1 bounced"
    polylines = root.findall(f"{SVG}polyline")
    assert len(polylines) == 2
    assert polylines[0].get("stroke-dasharray") != polylines[1].get("stroke-dasharray")


def test_axis_labels_are_whole_numbers_even_for_small_counts() -> None:
    for top in (1, 2, 3, 5, 7, 12, 20, 140):
        svg = str(bar_chart("b", "T", "D", ["#1", "#2"], lines([("left", [top, 0])])))
        labels = re.findall(r'text-anchor="end" font-size="13" fill="#333">([^<]*)<', svg)
        assert labels, top
        assert all(label.isdigit() for label in labels), (top, labels)
        assert int(labels[-1]) >= top


def test_a_bar_chart_gives_each_bar_its_value_in_words() -> None:
    svg = str(bar_chart("b", "Where people leave", "D", ["#1", "#2"],
                        lines([("unsubscribed", [3, 1]), ("clicks", [0, 4])])))
    root = ET.fromstring(  # noqa: S314 - our own output
        svg)
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class")]
    assert [bar.findtext(f"{SVG}title") for bar in bars] == [
        "#1: 3 unsubscribed", "#2: 1 unsubscribed", "#1: 0 clicks", "#2: 4 clicks"]


def test_an_empty_chart_is_still_a_valid_picture() -> None:
    root = ET.fromstring(  # noqa: S314 - our own output
        str(line_chart("e", "T", "Nothing yet", [], lines([("a", [])]))))
    assert root.findtext(f"{SVG}desc") == "Nothing yet"
