"""aggregator.textdates: event dates written as text (Meetup and friends)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.textdates import find_date, find_datetime, find_deadline, find_range

NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)   # the eval's first crawl
CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # Meetup RSS: no year, local time
        ("Thursday, February 4 at 6:00 PM", datetime(2027, 2, 4, 18, 0), None),
        ("<p>Seattle - USA</p>\nTuesday, February 9 at 6:30 PM\n110", datetime(2027, 2, 9, 18, 30),
         None),
        ("Thursday, March 17 at 7:00 PM", datetime(2027, 3, 17, 19, 0), None),
        ("Feb 9, 6:30 PM - 8:30 PM", datetime(2027, 2, 9, 18, 30), datetime(2027, 2, 9, 20, 30)),
        ("9 February 2027 18:30", datetime(2027, 2, 9, 18, 30), None),
        ("Tue 2 Feb 2027, 7:00 PM", datetime(2027, 2, 2, 19, 0), None),
        ("2027-02-09T18:30", datetime(2027, 2, 9, 18, 30), None),
        ("March 3, 10 PM - 1 AM", datetime(2027, 3, 3, 22, 0), datetime(2027, 3, 4, 1, 0)),
        ("17.03.2027 19:00 - 21:00", datetime(2027, 3, 17, 19, 0), datetime(2027, 3, 17, 21, 0)),
        ("9 de febrero de 2027 a las 18:30", datetime(2027, 2, 9, 18, 30), None),
        ("Donnerstag, 4. März 2027, 19:00 Uhr", datetime(2027, 3, 4, 19, 0), None),
        ("Saturday, September 18th, 2027 at 10:30 a.m. to 12:15 p.m.",
         datetime(2027, 9, 18, 10, 30), datetime(2027, 9, 18, 12, 15)),
        # a zone written after the time makes the values aware
        ("Tuesday 2 February 2027, 6:00 PM – 8:30 PM (GMT)",
         datetime(2027, 2, 2, 18, 0, tzinfo=UTC), datetime(2027, 2, 2, 20, 30, tzinfo=UTC)),
        ("Tuesday 2 March 2027, 9:00 AM – Wednesday 3 March 2027, 5:00 PM (GMT)",
         datetime(2027, 3, 2, 9, 0, tzinfo=UTC), datetime(2027, 3, 3, 17, 0, tzinfo=UTC)),
        ("March 4, 2027 7pm CET", datetime(2027, 3, 4, 19, 0, tzinfo=CET), None),
        ("4 March 2027 19:00 +01:00", datetime(2027, 3, 4, 19, 0, tzinfo=CET), None),
        # a date alone is an all-day value
        ("Saturday 6 March 2027", date(2027, 3, 6), None),
    ],
)
def test_find_range_reads_the_written_event_time(text, start, end):
    assert find_range(text, "America/Los_Angeles", NOW) == (start, end), (
        f"{text!r} should read as {start} .. {end}"
    )


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        # read in December, "January 5" is next January
        (datetime(2026, 12, 20, tzinfo=UTC), "January 5 at 7pm", datetime(2027, 1, 5, 19, 0)),
        # up to about 30 days in the past stays this year (an event that just happened)
        (datetime(2027, 1, 10, tzinfo=UTC), "December 20 at 7pm", datetime(2026, 12, 20, 19, 0)),
        (datetime(2027, 1, 10, tzinfo=UTC), "November 1 at 7pm", datetime(2027, 11, 1, 19, 0)),
        # the weekday picks between this year and next: 4 June 2028 is a Sunday
        (NOW, "It's Sunday, June 4 at 5 pm.", datetime(2028, 6, 4, 17, 0)),
        # 29 February exists only in leap years
        (NOW, "Feb 29 at 7pm", datetime(2028, 2, 29, 19, 0)),
    ],
)
def test_year_is_inferred_relative_to_now(now, text, expected):
    assert find_datetime(text, "UTC", now) == expected, (
        f"{text!r} read at {now:%Y-%m-%d} should be {expected}"
    )


def test_now_is_seen_in_the_source_timezone_for_year_inference():
    # 00:30 UTC on 1 Jan 2027 is still 31 Dec 2026 in Los Angeles: 30 days back is 1 Dec 2026
    now = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)
    assert find_datetime("December 1 at 6 PM", "America/Los_Angeles", now) == datetime(
        2026, 12, 1, 18, 0
    ), "in Los Angeles 1 December is still within the last 30 days"
    # in UTC (and for an unknown zone, read as UTC) 30 days back is 2 Dec: next December
    assert find_datetime("December 1 at 6 PM", "UTC", now) == datetime(2027, 12, 1, 18, 0)
    assert find_datetime("December 1 at 6 PM", "Not/AZone", now) == datetime(2027, 12, 1, 18, 0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Free to attend, registration required.",
        "Seats are limited to 30 participants; doors open at 6pm.",   # a time without a date
        "Call for speakers closes 19 February 2027.",                 # a deadline, not the event
        "Nominations close 5 March 2027.",
        "On Mon, Nov 12, 2012 at 06:17:50PM +0100, Etienne Millon wrote:",   # a mail quote
        "Jul 18 17:45:21 gildedale kernel: PHY: Link is Down",        # a log line
        "Posted on March 3, 2027 at 10:00",
        "Feb 30 at 7pm",
        "105 May be 7",
    ],
)
def test_no_event_time_in_text_without_one(text):
    assert find_datetime(text, "Europe/Dublin", NOW) is None, f"{text!r} holds no event time"


def test_deadline_dates_are_skipped_but_the_event_date_is_found():
    text = (
        "Call for speakers closes 19 February 2027.\n"
        "Pioneer Square Labs Hall, 159 S Jackson Street, Seattle, WA 98104\n"
        "Seattle - USA\nThursday, March 4 at 6:30 PM\n73"
    )
    assert find_range(text, "America/Los_Angeles", NOW) == (datetime(2027, 3, 4, 18, 30), None)
    assert find_deadline(text, "America/Los_Angeles", NOW) == date(2027, 2, 19)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nominations close 5 March 2027.", date(2027, 3, 5)),
        ("The call for papers closes on March 1 at 23:59", datetime(2027, 3, 1, 23, 59)),
        ("CFP deadline: 2027-02-15", date(2027, 2, 15)),
        ("Entries are open for the awards; the ceremony is 17 June 2027.", None),
    ],
)
def test_find_deadline(text, expected):
    assert find_deadline(text, "UTC", NOW) == expected


def test_find_date_returns_the_first_date_even_after_deadline_words():
    assert find_date("Register by 9 February 2027 18:30", "UTC", NOW) == date(2027, 2, 9)
    assert find_date("no date here", "UTC", NOW) is None


def test_require_time_ignores_dates_alone():
    assert find_range("Saturday 6 March 2027", None, NOW, require_time=True) is None


# --- never raises -------------------------------------------------------------------------

_pieces = st.sampled_from(
    ["Thursday", "Feb", "February", "29", "31", "2027", "at", "7:00", "PM", "-", "–", "to",
     "12", "00", ":", ",", ".", "(GMT)", "+25:99", "UTC+14", "de", "noon", "0", "99", "\n",
     "Call for speakers closes", "wrote:", "9999", "1900", "am", "13:61", "00:00:00"]
)


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(st.text(max_size=300), st.lists(_pieces, max_size=25).map(" ".join)),
    tz=st.sampled_from([None, "UTC", "Europe/Berlin", "Not/AZone", "", "../etc/passwd"]),
    now=st.one_of(
        st.none(),
        st.datetimes(min_value=datetime(1, 2, 1), max_value=datetime(9998, 11, 30),
                     timezones=st.just(UTC)),
        st.datetimes(min_value=datetime(1, 2, 1), max_value=datetime(9998, 11, 30)),
    ),
)
def test_never_raises_and_returns_the_documented_types(text, tz, now):
    found = find_range(text, tz, now)
    assert found is None or (isinstance(found[0], date) and (found[1] is None or
                                                             isinstance(found[1], date)))
    if found is not None and found[1] is not None:
        assert found[1] >= found[0], f"end before start for {text!r}: {found}"
    dt = find_datetime(text, tz, now)
    assert dt is None or isinstance(dt, datetime)
    deadline = find_deadline(text, tz, now)
    assert deadline is None or isinstance(deadline, date)
    assert find_date(text, tz, now) is None or isinstance(find_date(text, tz, now), date)


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31)),
       hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_meetup_format_round_trips(day, hour, minute):
    now = datetime(2026, 12, 31, 12, tzinfo=UTC)       # threshold 1 Dec 2026: every 2027 date
    when = datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute)
    text = f"{when:%A}, {when:%B} {day.day} at {(hour % 12) or 12}:{minute:02d} {when:%p}"
    assert find_datetime(text, "America/Chicago", now) == when, f"{text!r} should be {when}"
