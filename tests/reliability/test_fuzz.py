"""Property-based fuzzing (Hypothesis) of the pure functions that see untrusted text: text dates,
the URL canonicaliser, the dedup keys, the configuration loader and the digest renderers.
Each property runs 1,000 examples; none may raise anything but the documented errors."""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aggregator import textdates
from aggregator.config import CONFIG_FILES, ConfigError, load_config
from aggregator.config_types import Config, Profile
from aggregator.dedup import same_event, source_key, title_similarity
from aggregator.digest import Ranked, build_digest, render
from aggregator.digest.render import FORMATS
from aggregator.items import EventItem
from aggregator.normalize import canonical_url

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Niue",
         "Asia/Kolkata", "Australia/Lord_Howe", None, "Not/AZone", ""]

# -------------------------------------------------------------------------- text dates
DATE_WORDS = ["January", "Feb", "march", "Sept.", "Dec", "Monday", "thu", "Sunday,", "at", "from",
              "to", "–", "-", "until", "PM", "am", "noon", "midnight", "CET", "UTC", "+14:00",
              "GMT-12", "EST", "of", "th", "st", "2027", "9999", "0001", "1900", "31", "29", "0",
              "00", "24:00", "23:59", "7:00", "12", "19h30", "call for speakers closes", ",", ".",
              "/", "2027-02-30", "2027-13-01", "9999-12-31T23:59:59-12:00",
              "0001-01-01T00:00:00+14:00", "Thursday, March 17 at 7:00 PM", "\n", "\x00", "é"]
texts = st.one_of(
    st.lists(st.sampled_from(DATE_WORDS) | st.integers(-5, 100000).map(str), max_size=14)
    .map(" ".join),
    st.text(max_size=200),
)
nows = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.just(UTC)) | st.none()


def _is_when(value: object) -> bool:
    return isinstance(value, date)   # datetime is a date too


@FUZZ
@given(text=texts, tz=st.sampled_from(ZONES), now=nows)
def test_textdates_return_dates_or_none(text: str, tz: str | None, now: datetime | None) -> None:
    found = textdates.find_datetime(text, tz, now)
    assert found is None or isinstance(found, datetime)
    span = textdates.find_range(text, tz, now)
    if span is not None:
        start, end = span
        assert _is_when(start) and (end is None or _is_when(end)), f"find_range({text!r}) gave {span!r}"
    for other in (textdates.find_date(text, tz, now), textdates.find_deadline(text, tz, now)):
        assert other is None or _is_when(other)


# -------------------------------------------------------------------------- URLs
URL_PARTS = st.fixed_dictionaries({
    "scheme": st.sampled_from(["http", "HTTPS", "file", "ftp", "javascript", "", "hTtP"]),
    "host": st.sampled_from(["Example.ORG", "127.0.0.1", "[::1]", "bücher.example", "", "a:99999",
                             "user:pw@host.example", "%zz", "[bad"]),
    "path": st.text(max_size=30),
    "query": st.lists(st.tuples(st.sampled_from(["utm_source", "UTM_Medium", "fbclid", "id", "q",
                                                 "gclid", "ref", "x"]), st.text(max_size=10)),
                      max_size=5),
    "fragment": st.text(max_size=10),
})


def _build(p: dict) -> str:
    query = "&".join(f"{k}={v}" for k, v in p["query"])
    return f"{p['scheme']}://{p['host']}/{p['path']}?{query}#{p['fragment']}"


@FUZZ
@given(url=URL_PARTS.map(_build) | st.text(max_size=80))
@example(url="http:///\\?#")    # found by this test: w3lib settles such URLs in more than one step
@example(url="file:///\\?#")
def test_canonical_url_is_idempotent_and_drops_tracking(url: str) -> None:
    canon = canonical_url(url)
    if canon is None:
        return
    assert isinstance(canon, str)
    parts = urlsplit(canon)
    assert parts.scheme in ("http", "https", "file"), f"{url!r} -> {canon!r}"
    assert not parts.fragment, f"the fragment survived: {url!r} -> {canon!r}"
    keys = [k.lower() for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
    assert not [k for k in keys if k.startswith("utm_") or k in ("fbclid", "gclid")], \
        f"tracking parameters survived: {url!r} -> {canon!r}"
    assert canonical_url(canon) == canon, f"not idempotent: {url!r} -> {canon!r} -> {canonical_url(canon)!r}"


# -------------------------------------------------------------------------- dedup
titles = st.text(max_size=60) | st.sampled_from(
    ["PyData Berlin 2027", "PyData Berlin", "pydata berlin — 2027", "CANCELLED: PyData Berlin",
     "The Annual Conference", "", "   ", "!!!", "Ünïcödé Meetup", "a" * 300])
instants = st.datetimes(min_value=datetime(1, 1, 3), max_value=datetime(9999, 12, 29),
                        timezones=st.just(UTC))


@FUZZ
@given(title=titles, uid=st.none() | st.text(max_size=30), url=st.none() | st.text(max_size=30),
       rid=st.none() | st.text(max_size=20))
def test_source_key_is_a_prefixed_string(title: str, uid: str | None, url: str | None, rid: str | None) -> None:
    item = EventItem(source="s", title=title, start=None, uid=uid, url=url, recurrence_id=rid)
    key = source_key(item)
    assert isinstance(key, str) and key.split(":", 1)[0] in ("uid", "url", "title")
    assert source_key(item) == key


@FUZZ
@given(a=titles, b=titles)
def test_title_similarity_is_a_symmetric_score(a: str, b: str) -> None:
    sim = title_similarity(a, b)
    assert 0 <= sim <= 100
    assert sim == title_similarity(b, a), f"similarity of {a!r} and {b!r} is not symmetric"


event_dicts = st.fixed_dictionaries({
    "title": titles, "start_utc": instants,
    "end_utc": st.none() | instants, "all_day": st.booleans(),
    "city": st.sampled_from([None, "", "Berlin", "berlin", "Berlin-Mitte", "Paris"]),
    "country": st.sampled_from([None, "DE", "FR"]), "online": st.booleans(),
})


@FUZZ
@given(a=event_dicts, b=event_dicts)
def test_same_event_is_a_symmetric_bool(a: dict, b: dict) -> None:
    found = same_event(a, b)
    assert isinstance(found, bool)
    assert found == same_event(b, a), f"same_event is not symmetric for {a!r} and {b!r}"


# -------------------------------------------------------------------------- config loader
TOML_LINES = [
    "[crawl]", "[database]", "[smtp]", "[digest]", "[[source]]", "[source.select]", "[source.fields]",
    "[[profile]]", "[software]", "[[industry]]", "[crawl.sub]", 'name = "a"', 'name = "A B"',
    'type = "ical"', 'type = "html"', 'type = "json"', 'url = "https://e.example/x"', 'url = "file:///x"',
    'url = "ftp://x"', "url = 3", "timeout = 0", "timeout = -1", "timeout = inf", "timeout = nan",
    "concurrency = 99999999999999999999", "concurrency = 1.5", "horizon_days = -3",
    'timezone = "Europe/Berlin"', 'timezone = "../../etc/passwd"', 'timezone = ""',
    'interests = ["python^2", "x^"]', "radius_km = -1", 'goals = ["fame"]', 'kinds = ["meetup"]',
    'email = "a@b.example"', 'email = "not an email"', "enabled = maybe", "enabled = false",
    'parent = "software"', 'parent = "nope"', 'label = "L"', "keywords = [1, 2]", 'item = "::"',
    'follow = "a[href"', 'preset = "confs-tech"', 'security = "tls"', "port = 70000",
    'password_env = "A B"', 'from = "Digest <d@example.org>"', 'url = "sqlite:///x.db"',
    "x = {a = 1, b = [", '"""', "'''", "key = '''multi", "line'''", "= 1", "a.b.c = 1", "[", "]]",
    "\x00", "\ufeff", "# comment", "", "ä = 1", 'k = "\\u0000"', "k = 1979-05-27T07:32:00Z",
]
toml_texts = st.lists(st.sampled_from(TOML_LINES) | st.text(max_size=20), max_size=12).map("\n".join)


@FUZZ
@given(files=st.lists(st.tuples(st.sampled_from(CONFIG_FILES), toml_texts), min_size=1, max_size=4))
def test_load_config_gives_a_config_or_a_config_error(files: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files:
            (Path(tmp) / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            config = load_config(Path(tmp))
        except ConfigError as exc:
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
            for line in exc.problems:
                where = re.match(r"^(.+?):(\d+): \S", line)
                assert where and Path(where.group(1)).name in CONFIG_FILES, \
                    f"a problem not in the FILE:LINE: message form: {line!r}"
        else:
            assert isinstance(config, Config)


# -------------------------------------------------------------------------- renderers
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 2, 8, 18, 0, tzinfo=BERLIN)
hostile = st.text(max_size=40) | st.sampled_from(
    ["<script>alert(1)</script>", "\r\nBcc: x@example.org", "javascript:alert(1)", "\x1b[31m", "{{ 7*7 }}",
     "{% raw %}", "]]>", "&amp;&lt;", "\u202e", "a" * 500, ""])
whens = (st.datetimes(min_value=datetime(1, 1, 3), max_value=datetime(9999, 12, 29),
                      timezones=st.sampled_from([UTC, BERLIN, ZoneInfo("Pacific/Kiritimati")]))
         | st.datetimes(min_value=datetime(2026, 2, 1), max_value=datetime(2026, 2, 28),
                        timezones=st.just(BERLIN))
         | st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)) | st.none())
KINDS = ["meetup", "conference", "call-for-speakers", "award", "career-fair", "webinar", "bogus"]
GOALS = ["support", "opportunities", "visibility", "fame"]


@st.composite
def event_dict(draw, n: int) -> dict:  # type: ignore[no-untyped-def]
    start = draw(whens)
    return {
        "id": f"ev{n}", "title": draw(hostile), "description": draw(st.none() | hostile),
        "url": draw(st.none() | hostile | st.just("https://example.org/x")), "urls": [],
        "start": start, "end": draw(whens), "timezone": draw(st.sampled_from(ZONES)),
        "all_day": draw(st.booleans()), "venue": draw(st.none() | hostile), "city": draw(st.none() | hostile),
        "country": draw(st.sampled_from([None, "DE", "", "ZZ"])), "online": draw(st.booleans()),
        "kinds": draw(st.lists(st.sampled_from(KINDS), max_size=2)),
        "goals": draw(st.lists(st.sampled_from(GOALS), max_size=2)), "industries": [], "tags": [],
        "status": draw(st.sampled_from(["scheduled", "cancelled", "postponed", "moved-online", "weird"])),
        "price": draw(st.none() | st.floats(allow_nan=True) | st.integers(-5, 10**12)),
        "currency": draw(st.sampled_from([None, "EUR", "", "XXXX"])),
        "organizer": draw(st.none() | hostile), "group": draw(st.none() | hostile),
        "cfp_deadline": draw(whens), "sources": ["fuzz"],
        "first_seen": NOW, "last_seen": NOW,
        "changes": draw(st.lists(st.fixed_dictionaries({
            "field": st.sampled_from(["start", "status", "venue", "city", "title"]),
            "old": st.none() | hostile, "new": st.none() | hostile,
            "seen": st.sampled_from(["2026-02-07T08:00:00+00:00", "garbage", ""])}), max_size=2)),
        "latitude": None, "longitude": None, "language": "en",
    }


@st.composite
def digests(draw):  # type: ignore[no-untyped-def]
    count = draw(st.integers(0, 3))
    events = [draw(event_dict(n)) for n in range(count)]
    ranked = [Ranked(e, draw(st.floats(0, 10)), draw(st.lists(hostile, max_size=2))) for e in events]
    group = {"id": "g1", "name": draw(hostile), "url": draw(st.none() | hostile), "city": draw(st.none() | hostile)}
    profile = Profile(name="ana", email="ana@example.org", timezone=draw(st.sampled_from(ZONES[:6])))
    return build_digest(profile, (2026, 7), ranked, draw(st.sampled_from([[], [Ranked(group, 1.0, [])]])),
                        {}, NOW, BERLIN)


@FUZZ
@given(digest=digests(), fmt=st.sampled_from(FORMATS))
def test_renderers_return_text_for_any_events(digest, fmt: str) -> None:  # type: ignore[no-untyped-def]
    options = {"from_addr": "Digest <d@example.org>"} if fmt == "eml" else {}
    out = render(digest, fmt, **options)
    assert isinstance(out, bytes if fmt == "eml" else str)
    if fmt == "html":
        assert "<script>" not in out
    if fmt == "eml":
        head = out.split(b"\r\n\r\n", 1)[0]
        assert not [ln for ln in head.split(b"\r\n") if ln.lower().startswith((b"bcc:", b"cc:"))]


def test_fuzz_inputs_stay_in_the_supported_range() -> None:
    # guard for the strategies above: the extremes are reachable and timedelta math near them is
    # what the code under test must survive
    assert datetime(9999, 12, 29, tzinfo=UTC) + timedelta(days=2) == datetime(9999, 12, 31, tzinfo=UTC)
