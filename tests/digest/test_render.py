"""Renderers: golden text and markdown, safe HTML, the json shape, valid ics.

Golden files live in tests/digest/golden/ (see its README); regenerate them with
EVENTSCOUT_REGEN_GOLDEN=1 pytest tests/digest and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime
from pathlib import Path

import icalendar
import lxml.html
import pytest
from digest_scenario import BERLIN, NOW, PROFILE, WEEK, berlin, event, make_digest, scenario

from aggregator.digest import Ranked, build_digest, render
from aggregator.digest.display import safe_url

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("EVENTSCOUT_REGEN_GOLDEN") == "1"


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.write_text(actual, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"golden file {path} is missing; create it with EVENTSCOUT_REGEN_GOLDEN=1")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"the {name} rendering differs from the golden file {path}; if the change is intended, "
        "regenerate with EVENTSCOUT_REGEN_GOLDEN=1 and review the diff")


@pytest.mark.parametrize("fmt, name", [("text", "digest.txt"), ("markdown", "digest.md")])
def test_text_and_markdown_match_golden_files(digest, fmt, name):
    check_golden(name, render(digest, fmt))


@pytest.mark.parametrize("fmt, name", [("text", "empty.txt"), ("markdown", "empty.md")])
def test_empty_digest_says_so(fmt, name):
    empty = build_digest(PROFILE, WEEK, [], [], {}, NOW, BERLIN)
    check_golden(name, render(empty, fmt))


def long_digest():
    long = event(
        "long", "A very long title " * 8, berlin(2, 11, 9), berlin(2, 13, 17),
        venue="The International Congress Centre of the Federal Capital, Hall 7, Level 3",
        kinds=["conference", "networking", "career-fair"], goals=["opportunities"],
        url="https://example.org/" + "x" * 90)
    reasons = [f"reason number {n}" for n in range(12)]
    return build_digest(PROFILE, WEEK, [Ranked(long, 1.0, reasons)], [], {}, NOW, BERLIN)


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_lines_fit_78_columns_except_unbreakable_links(fmt):
    for d in (make_digest(), long_digest()):
        for line in render(d, fmt).splitlines():
            if len(line) > 78:
                assert len(line.split()) <= 3 and "https://" in line, \
                    f"{fmt} line is {len(line)} columns wide and is not just a long link: {line!r}"


def test_multi_day_event_shows_both_ends_in_the_profile_zone():
    text = render(long_digest(), "text")
    assert "When:     Wed 11 Feb 09:00 – Fri 13 Feb 17:00 CET" in text


# ---------------------------------------------------------------------------- hostile input

HOSTILE_TITLE = ("<script>alert(1)</script> Free <img src=x onerror=alert(2)>\r\n"
                 "Bcc: victim@example.org\x1b[31m red")


def hostile_digest():
    evil = event(
        "evil", HOSTILE_TITLE, berlin(2, 11, 18), berlin(2, 11, 20),
        description='<a href="javascript:alert(3)" onclick="x()">click</a>',
        url="javascript:alert(4)", venue='"><svg onload=alert(5)>', kinds=["meetup"],
        goals=["support"])
    sneaky = event("sneaky", "Sneaky [link](javascript:alert(7)) *bold*", berlin(2, 12, 18),
                   url=" JaVaScRiPt:alert(8)", goals=["support"])
    data_url = event("data-url", "Data URL", berlin(2, 12, 19),
                     url="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
                     goals=["opportunities"], kinds=["conference"])
    odd_url = event("odd-url", "Odd URL", berlin(2, 12, 20),
                    url='https://example.org/a b"><script>alert(9)</script>',
                    goals=["opportunities"], kinds=["conference"])
    group = {"id": "g-evil", "name": "<iframe src=https://evil.example/>Group</iframe>",
             "url": "vbscript:msgbox(1)", "city": "<b onmouseover=alert(10)>Berlin</b>"}
    return build_digest(
        PROFILE, WEEK,
        [Ranked(evil, 3.0, ['<b onmouseover="alert(6)">hi</b>']), Ranked(sneaky, 2.0, []),
         Ranked(data_url, 1.5, []), Ranked(odd_url, 1.0, [])],
        [Ranked(group, 1.0, [])], {}, NOW, BERLIN)


def test_html_has_no_scripts_handlers_or_unsafe_links_even_for_hostile_sources():
    html = render(hostile_digest(), "html")
    doc = lxml.html.document_fromstring(html)
    tags = {el.tag for el in doc.iter() if isinstance(el.tag, str)}
    assert not tags & {"script", "img", "svg", "iframe", "object", "embed", "form"}, \
        f"hostile markup from a source became real HTML elements: {tags}"
    handlers = [(el.tag, name) for el in doc.iter() for name in el.attrib
                if name.lower().startswith("on")]
    assert handlers == [], f"event-handler attributes in the HTML: {handlers}"
    hrefs = [el.get("href") for el in doc.iter("a")]
    assert hrefs and all(re.match(r"https?://", h) for h in hrefs), f"unsafe links: {hrefs}"
    assert not re.search(r"javascript:|vbscript:|data:text", " ".join(hrefs), re.I)
    assert "https://example.org/a%20b%22%3E%3Cscript%3Ealert(9)%3C/script%3E" in hrefs
    # the hostile text is still shown, as text
    assert "<script>alert(1)</script> Free" in doc.text_content()
    assert "\r" not in html and "\x1b" not in html


def test_html_is_a_self_contained_email_page(digest):
    html = render(digest, "html")
    assert '<meta name="color-scheme" content="light dark">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    doc = lxml.html.document_fromstring(html)
    assert not doc.xpath("//img | //script | //link | //iframe"), \
        "the email must not load remote images, scripts or stylesheets"
    body = doc.find("body")
    assert "background-color:#f3f4f6" in body.get("style") and "color:#1f2328" in body.get("style")
    titles = [a.text_content() for a in doc.xpath("//td[@colspan='2']/a")]
    assert titles == ["PyCon DE & PyData 2026", "Women in Data Awards 2026",
                      "PyLadies Berlin: Mentoring evening", "Intro to dbt (webinar)",
                      "Data Engineering Job Fair", "PyLadies Berlin",
                      "Data Council Berlin Meetup", "Hack Night"]
    assert "Tue 10 Feb 18:30–20:30 CET" in doc.text_content()


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_text_formats_drop_control_characters_and_unsafe_links(fmt):
    out = render(hostile_digest(), fmt)
    assert "\x1b" not in out and "\r" not in out, f"{fmt} passes terminal escapes through"
    links = [line.split("Link:")[1].strip(" *<>") for line in out.splitlines() if "Link:" in line]
    assert links == ["https://example.org/a%20b%22%3E%3Cscript%3Ealert(9)%3C/script%3E"], \
        f"{fmt}: only the one http(s) link may be offered, got {links}"
    flowed = " ".join(out.split())
    expected = {"text": "Free <img src=x onerror=alert(2)> Bcc: victim@example.org[31m red",
                "markdown": r"Free \<img src=x onerror=alert(2)\> Bcc: victim@example.org\[31m red"}
    assert expected[fmt] in flowed, "the CR/LF in the title should have become one space"
    assert not any(line.startswith("Bcc:") for line in out.splitlines()), \
        "a CR/LF in a title must not start a line of its own"


def test_markdown_escapes_markup_from_sources():
    out = render(hostile_digest(), "markdown")
    for match in re.finditer(r"(?<!\\)<", out):
        assert out.startswith("<https://", match.start()), \
            f"unescaped '<' in markdown would become raw HTML: {out[match.start():][:40]!r}"
    assert r"**Sneaky \[link\](javascript:alert(7)) \*bold\***" in out, \
        "markdown link syntax in a title must be escaped, so it is shown, not followed"


@pytest.mark.parametrize("url, expected", [
    ("https://example.org/e?x=1&y=2#top", "https://example.org/e?x=1&y=2#top"),
    ("http://example.org/a b", "http://example.org/a%20b"),
    ("HTTPS://Example.org/", "HTTPS://Example.org/"),
    ("https://münchen.example/x", "https://xn--mnchen-3ya.example/x"),
    ("javascript:alert(1)", None), ("JAVASCRIPT:alert(1)", None), (" java\nscript:x", None),
    ("data:text/html,x", None), ("mailto:a@example.org", None), ("//example.org/x", None),
    ("/relative", None), ("", None), (None, None),
])
def test_safe_url(url, expected):
    assert safe_url(url) == expected


# ---------------------------------------------------------------------------- json

def test_json_shape(digest):
    data = json.loads(render(digest, "json"))
    assert list(data) == ["profile", "week", "from", "to", "sections"]
    assert (data["profile"], data["week"], data["from"], data["to"]) == \
        ("ana", "2026-W07", "2026-02-09", "2026-02-15")
    assert [(s["key"], s["title"]) for s in data["sections"]] == [
        ("deadlines", "This week's deadlines"), ("support", "Build your support system"),
        ("opportunities", "New opportunities"), ("visibility", "Get visible"),
        ("groups", "Groups to join"), ("changes", "Changed or cancelled")]
    mentoring = data["sections"][1]["items"][0]
    assert mentoring["id"] == "pyladies-mentoring"
    assert mentoring["start"] == "2026-02-10T18:30:00+01:00"
    assert mentoring["first_seen"] == "2026-01-20T09:00:00+00:00"
    assert (mentoring["score"], mentoring["reasons"]) == \
        (4.2, ["matches 'mentoring' in title", "3 km from Berlin"])
    webinar = data["sections"][1]["items"][1]
    assert webinar["start"] == "2026-02-11T12:00:00-05:00", "times stay in the event's own zone"
    awards = data["sections"][0]["items"][1]
    assert awards["cfp_deadline"] == "2026-02-20T23:59:00+00:00"
    changes = data["sections"][5]["items"]
    assert [(c["id"], c["change"], c["status"]) for c in changes] == [
        ("data-council-meetup", "moved from Tue 10 Feb 18:00 to Thu 12 Feb 18:00", "scheduled"),
        ("hack-night", "cancelled", "cancelled")]
    assert changes[1]["score"] is None and changes[1]["reasons"] == []


# ---------------------------------------------------------------------------- ics

def test_ics_is_valid_with_stable_uids_sequence_status_and_deadlines(digest):
    text = render(digest, "ics")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n")), \
        "RFC 5545 lines are folded at 75 octets"
    cal = icalendar.Calendar.from_ical(text)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert sorted(events) == sorted([
        "pycon-de-2026@eventscout", "pycon-de-2026-deadline@eventscout",
        "women-in-data-awards@eventscout", "women-in-data-awards-deadline@eventscout",
        "pyladies-mentoring@eventscout", "dbt-webinar@eventscout", "data-job-fair@eventscout",
        "data-council-meetup@eventscout", "hack-night@eventscout"])
    assert "rust-meetup@eventscout" not in events, "unchanged, already sent events stay out"

    mentoring = events["pyladies-mentoring@eventscout"]
    assert mentoring.decoded("DTSTART") == datetime(2026, 2, 10, 18, 30, tzinfo=BERLIN)
    assert mentoring["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert str(mentoring["SUMMARY"]) == "PyLadies Berlin: Mentoring evening"
    assert str(mentoring["LOCATION"]) == "Factory Berlin, DE"
    assert str(mentoring["URL"]) == "https://events.example.org/pyladies-mentoring"
    assert (mentoring["SEQUENCE"], str(mentoring["STATUS"])) == (0, "CONFIRMED")

    webinar = events["dbt-webinar@eventscout"]
    assert webinar.decoded("DTSTART").astimezone(BERLIN) == berlin(2, 11, 18)
    assert "America/New_York" in [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]

    hack = events["hack-night@eventscout"]
    assert (str(hack["STATUS"]), hack["SEQUENCE"]) == ("CANCELLED", 1)
    moved = events["data-council-meetup@eventscout"]
    assert moved.decoded("DTSTART") == berlin(2, 12, 18) and moved["SEQUENCE"] == 1

    pycon = events["pycon-de-2026@eventscout"]
    assert (pycon.decoded("DTSTART"), pycon.decoded("DTEND")) == \
        (date(2026, 4, 14), date(2026, 4, 17)), "all-day DTEND is the day after the last day"
    deadline = events["pycon-de-2026-deadline@eventscout"]
    assert (deadline.decoded("DTSTART"), deadline.decoded("DTEND")) == \
        (date(2026, 2, 15), date(2026, 2, 16))
    assert str(deadline["SUMMARY"]) == "Call for speakers closes: PyCon DE & PyData 2026"
    assert str(deadline["TRANSP"]) == "TRANSPARENT"
    award_deadline = events["women-in-data-awards-deadline@eventscout"]
    assert str(award_deadline["SUMMARY"]) == "Nominations close: Women in Data Awards 2026"
    assert award_deadline.decoded("DTSTART") == date(2026, 2, 21), \
        "23:59 London is already 21 Feb in the profile's zone (Berlin)"


def test_ics_is_stable_between_runs(digest):
    assert render(digest, "ics") == render(make_digest(), "ics")


def test_ics_drops_unsafe_urls_and_keeps_hostile_titles_as_text():
    cal = icalendar.Calendar.from_ical(render(hostile_digest(), "ics"))
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert "URL" not in events["evil@eventscout"]
    assert "\n" not in str(events["evil@eventscout"]["SUMMARY"])


def test_events_calendar_for_a_plain_event_list():
    from aggregator.digest.ics import events_calendar
    events = list(scenario()["events"].values())
    cal = icalendar.Calendar.from_ical(events_calendar(events, now=NOW))
    uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
    assert len(uids) == len(set(uids)) == 10, uids   # 8 events + 2 deadlines
    assert "hack-night@eventscout" in uids and "rust-meetup@eventscout" in uids


def test_calendar_bytes_are_the_calendars_own_serialisation():
    # the VTIMEZONEs are serialised once per process and put in place of the components'
    from zoneinfo import ZoneInfo

    from aggregator.digest.ics import build_calendar, calendar_bytes

    tokyo = event("tokyo-night", "Tokyo Night", datetime(2026, 2, 12, 19, tzinfo=ZoneInfo("Asia/Tokyo")),
                  timezone="Asia/Tokyo", city="Tokyo", country="JP")
    entries = [(e, ["a reason"]) for e in [*scenario()["events"].values(), tokyo]]
    for tz in ("Europe/Berlin", "America/New_York"):
        expected = build_calendar(entries, NOW, tz, name="n").to_ical()
        assert expected.count(b"BEGIN:VTIMEZONE") >= 2
        assert calendar_bytes(entries, NOW, tz, name="n") == expected
        assert calendar_bytes(entries, NOW, tz, name="n") == expected      # from the cache
    assert calendar_bytes([], NOW) == build_calendar([], NOW).to_ical()

def _clean_by_character(value: str) -> str:
    """display.clean's rule spelt out one character at a time (its non-ASCII path)."""
    import unicodedata

    from aggregator.digest import display

    kept = "".join(" " if ch in display._BREAKS else ch for ch in value
                   if ch in display._BREAKS or unicodedata.category(ch) not in ("Cc", "Cf"))
    return re.sub(r"\s+", " ", kept).strip()


def test_clean_takes_a_shortcut_for_ascii_with_the_same_result() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from aggregator.digest.display import clean

    @settings(max_examples=3000, deadline=None)
    @given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
    def same(value: str) -> None:
        assert clean(value) == _clean_by_character(value)

    same()
    assert clean("a\x1bb\x00 \t\r\n c\x7f") == "ab c"
    assert clean("caf\u00e9\u200b \u2028 bar") == "caf\u00e9 bar"     # the other path
