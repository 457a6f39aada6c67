"""A hostile web server for the reliability tests: every path misbehaves in its own way.

Run in a child process (``HostileServer(secret_path).start()``) on a random loopback port; it is a
threaded ``http.server`` subclass, so one endless or stalled response never blocks the others.
``CASES`` names each hostile path with the source type it is configured as; ``GOOD`` the two
well-behaved sources collected in the same run. Dates are relative to ``NOW`` (pass it as
``--now``) so the good events always fall inside the horizon.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

NOW = "2027-01-31T09:00:00Z"
SECRET_TOKEN = "XXE-SECRET-7f3a9c1e-do-not-leak"

# path -> (source name, source type, what it does)
GOOD = {
    "/good.ics": ("good-calendar", "ical", "a plain calendar with three events"),
    "/good.xml": ("good-feed", "feed", "an RSS feed with two ev:startdate events"),
}
CASES = {
    "/laughs.xml": ("billion-laughs", "feed", "nested entity expansion (billion laughs)"),
    "/xxe.xml": ("xxe-feed", "feed", "an external SYSTEM entity pointing at a local secret file"),
    "/xxe-param.xml": ("xxe-param-feed", "feed", "an external parameter entity"),
    "/bomb.ics": ("gzip-bomb", "ical", "Content-Encoding: gzip, ~1 MB that inflates to 1 GiB"),
    "/huge.ics": ("huge-body", "ical", "300 MB with a Content-Length"),
    "/huge-stream.xml": ("huge-stream", "feed", "300 MB streamed without a Content-Length"),
    "/deep.xml": ("deep-xml", "feed", "100,000 nested XML elements"),
    "/deep.json": ("deep-json", "json", "100,000 nested JSON arrays"),
    "/deep.html": ("deep-html", "page", "100,000 nested HTML elements"),
    "/slow.ics": ("slow-server", "ical", "answers after 90 s"),
    "/loop-a": ("redirect-loop", "feed", "302 to /loop-b, which 302s back"),
    "/charset.xml": ("wrong-charset-feed", "feed", "windows-1252 bytes declared as UTF-8"),
    "/charset.ics": ("wrong-charset-calendar", "ical", "latin-1 bytes declared as UTF-8"),
    "/page.html": ("html-as-calendar", "ical", "an HTML page served as text/calendar"),
    "/empty.ics": ("empty-calendar", "ical", "a VCALENDAR without any VEVENT"),
    "/forever.ics": ("endless-rrule", "ical", "RRULEs without an end (SECONDLY and MINUTELY)"),
    "/years.ics": ("extreme-years-calendar", "ical", "events in year 1 and year 9999"),
    "/years.xml": ("extreme-years-feed", "feed", "ev:startdate in year 1 and 9999 with offsets"),
    "/years.json": ("extreme-years-json", "json", "JSON starts in year 1 and 9999 with offsets"),
}

GOOD_ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//reliability//good//EN\r
BEGIN:VEVENT\r
UID:good-1@reliability.example\r
DTSTAMP:20270101T000000Z\r
DTSTART:20270205T170000Z\r
DTEND:20270205T190000Z\r
SUMMARY:Good Calendar Meetup One\r
LOCATION:Berlin\r
URL:https://good.example/one\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:good-2@reliability.example\r
DTSTAMP:20270101T000000Z\r
DTSTART:20270212T170000Z\r
DTEND:20270212T190000Z\r
SUMMARY:Good Calendar Workshop Two\r
URL:https://good.example/two\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:good-3@reliability.example\r
DTSTAMP:20270101T000000Z\r
DTSTART;VALUE=DATE:20270301\r
DTEND;VALUE=DATE:20270303\r
SUMMARY:Good Calendar Conference Three\r
URL:https://good.example/three\r
END:VEVENT\r
END:VCALENDAR\r
"""


def rss(items: str, prolog: str = "", encoding: str = "UTF-8") -> str:
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n{prolog}'
            '<rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel>'
            "<title>Reliability feed</title><link>https://feed.example/</link>"
            f"<description>test</description>{items}</channel></rss>\n")


def item(title: str, start: str, link: str, description: str = "An event.") -> str:
    return (f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<description>{description}</description><ev:startdate>{start}</ev:startdate></item>")


GOOD_RSS = rss(item("Good Feed Talk Night", "2027-02-03T18:30:00+01:00", "https://good.example/talk")
               + item("Good Feed Hackathon", "2027-02-20T09:00:00+01:00", "https://good.example/hack"))

LAUGHS = rss(item("&lol9;", "2027-02-04T18:00:00Z", "https://laughs.example/1", "&lol9;"), prolog=(
    '<!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
              for n in range(1, 10))
    + "]>\n"))


def xxe(secret: str) -> str:
    return rss(item("Leak &xxe; here", "2027-02-04T18:00:00Z", "https://xxe.example/1",
                    "Secret: &xxe;"),
               prolog=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>\n')


def xxe_param(secret: str) -> str:
    return rss(item("Param &all;", "2027-02-04T18:00:00Z", "https://xxe.example/2", "x &all;"),
               prolog=(f'<!DOCTYPE rss [<!ENTITY % file SYSTEM "file://{secret}">'
                       '<!ENTITY % wrap "<!ENTITY all \'%file;\'>"> %wrap;]>\n'))


DEPTH = 100_000
DEEP_XML = rss("<item><title>Deep</title><ev:startdate>2027-02-04T18:00:00Z</ev:startdate>"
               + "<x>" * DEPTH + "bottom" + "</x>" * DEPTH + "</item>")
DEEP_JSON = "[" * DEPTH + "]" * DEPTH
DEEP_HTML = ("<!doctype html><html><head><title>deep</title></head><body>" + "<div>" * DEPTH
             + '<script type="application/ld+json">{"@type": "Event", "name": "Deep",'
             ' "startDate": "2027-02-04T18:00:00Z"}</script>' + "</div>" * DEPTH + "</body></html>")

CP1252_RSS = rss(item("Caf\u00e9 Z\u00fcrich \u2013 Gr\u00fcnder Treff", "2027-02-06T18:00:00+01:00",
                      "https://charset.example/cafe", "Sch\u00f6ne \u201eGr\u00fc\u00dfe\u201c")
                 ).encode("cp1252")
LATIN1_ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//reliability//latin1//EN\r\n"
              "BEGIN:VEVENT\r\nUID:latin-1@reliability.example\r\nDTSTAMP:20270101T000000Z\r\n"
              "DTSTART:20270207T180000Z\r\nSUMMARY:K\u00e4sefondue Abend im Caf\u00e9 Z\u00fcrich\r\n"
              "END:VEVENT\r\nEND:VCALENDAR\r\n").encode("latin-1")
HTML_PAGE = (b"<!doctype html><html><head><title>Not a calendar</title></head><body>"
             b"<h1>Events</h1><p>BEGIN:VEVENT is not here</p></body></html>")
EMPTY_ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//reliability//empty//EN\r\nEND:VCALENDAR\r\n"
FOREVER_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//reliability//forever//EN\r
BEGIN:VEVENT\r
UID:every-second@reliability.example\r
DTSTAMP:20270101T000000Z\r
DTSTART:20270101T000000Z\r
DURATION:PT1S\r
RRULE:FREQ=SECONDLY\r
SUMMARY:Every second forever\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:every-minute@reliability.example\r
DTSTAMP:20270101T000000Z\r
DTSTART:20000101T000000Z\r
RRULE:FREQ=MINUTELY;INTERVAL=1\r
SUMMARY:Every minute since 2000\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:every-hour@reliability.example\r
DTSTAMP:20270101T000000Z\r
DTSTART:20270130T000000Z\r
DURATION:PT30M\r
RRULE:FREQ=HOURLY\r
SUMMARY:Every hour forever\r
END:VEVENT\r
END:VCALENDAR\r
"""
YEARS_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//reliability//years//EN\r
BEGIN:VEVENT\r
UID:year-one@reliability.example\r
DTSTAMP:20270101T000000Z\r
DTSTART;TZID=America/New_York:00010101T000000\r
DTEND;TZID=America/New_York:00010101T010000\r
SUMMARY:Year one\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:year-9999@reliability.example\r
DTSTAMP:20270101T000000Z\r
DTSTART;TZID=Pacific/Kiritimati:99991231T235900\r
DTEND;TZID=Pacific/Kiritimati:99991231T235959\r
SUMMARY:Year 9999\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:year-9999-utc@reliability.example\r
DTSTAMP:20270101T000000Z\r
DTSTART:99991231T235959Z\r
RRULE:FREQ=YEARLY\r
SUMMARY:Year 9999 recurring\r
END:VEVENT\r
END:VCALENDAR\r
"""
YEARS_RSS = rss(item("Year one feed", "0001-01-01T00:00:00+14:00", "https://years.example/1")
                + item("Year 9999 feed", "9999-12-31T23:59:59-12:00", "https://years.example/9999"))
YEARS_JSON = ('[{"name": "Year one json", "url": "https://years.example/j1",'
              ' "start": "0001-01-01T00:00:00+05:00"},'
              ' {"name": "Year 9999 json", "url": "https://years.example/j9999",'
              ' "start": "9999-12-31T23:00:00-05:00", "end": "9999-12-31T23:59:59-11:00"}]')

MB = 1024 * 1024
HUGE = 300 * MB


def gzip_bomb() -> bytes:
    """~1 MiB of gzip members that inflate to 1 GiB of zeros."""
    member = gzip.compress(b"\0" * (64 * MB), compresslevel=9, mtime=0)
    return member * 16


SERVER = r'''
import http.server, socketserver, sys, time
sys.path.insert(0, sys.argv[3])
import hostile_server as H
port, secret, log = int(sys.argv[1]), sys.argv[2], sys.argv[4]
STATIC = {
    "/good.ics": ("text/calendar; charset=utf-8", H.GOOD_ICS.encode()),
    "/good.xml": ("application/rss+xml; charset=utf-8", H.GOOD_RSS.encode()),
    "/laughs.xml": ("application/rss+xml; charset=utf-8", H.LAUGHS.encode()),
    "/xxe.xml": ("application/rss+xml; charset=utf-8", H.xxe(secret).encode()),
    "/xxe-param.xml": ("application/rss+xml; charset=utf-8", H.xxe_param(secret).encode()),
    "/deep.xml": ("application/rss+xml; charset=utf-8", H.DEEP_XML.encode()),
    "/deep.json": ("application/json", H.DEEP_JSON.encode()),
    "/deep.html": ("text/html; charset=utf-8", H.DEEP_HTML.encode()),
    "/charset.xml": ("application/rss+xml; charset=utf-8", H.CP1252_RSS),
    "/charset.ics": ("text/calendar; charset=utf-8", H.LATIN1_ICS),
    "/page.html": ("text/calendar; charset=utf-8", H.HTML_PAGE),
    "/empty.ics": ("text/calendar", H.EMPTY_ICS),
    "/forever.ics": ("text/calendar", H.FOREVER_ICS),
    "/years.ics": ("text/calendar", H.YEARS_ICS),
    "/years.xml": ("application/rss+xml", H.YEARS_RSS.encode()),
    "/years.json": ("application/json", H.YEARS_JSON.encode()),
}
BOMB = H.gzip_bomb()
CHUNK = b"A" * H.MB

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def note(self):   # on arrival, so a request that never gets an answer is logged too
        with open(log, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def send(self, status, ctype, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, total, length):
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml" if self.path.endswith(".xml") else "text/calendar")
        if length:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        sent = 0
        try:
            while sent < total:
                self.wfile.write(CHUNK)
                sent += len(CHUNK)
        except OSError:
            pass   # the client gave up: that is the point
        self.close_connection = True

    def do_GET(self):
        path = self.path.split("?")[0]
        self.note()
        try:
            if path in STATIC:
                ctype, body = STATIC[path]
                self.send(200, ctype, body)
            elif path == "/bomb.ics":
                self.send(200, "text/calendar", BOMB, [("Content-Encoding", "gzip")])
            elif path == "/huge.ics":
                self.stream(H.HUGE, True)
            elif path == "/huge-stream.xml":
                self.stream(H.HUGE, False)
            elif path == "/slow.ics":
                time.sleep(90)
                self.send(200, "text/calendar", H.GOOD_ICS.encode())
            elif path == "/loop-a":
                self.send(302, "text/plain", b"", [("Location", "/loop-b")])
            elif path == "/loop-b":
                self.send(302, "text/plain", b"", [("Location", "/loop-a")])
            else:
                self.send(404, "text/plain", b"not found")
        except OSError:
            pass

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

Server(("127.0.0.1", port), Handler).serve_forever()
'''


class HostileServer:
    """The hostile server in a child process; ``origin`` is its base URL."""

    def __init__(self, secret: Path, log: Path) -> None:
        self.secret = secret
        self.log = log
        from sitesrv import free_port  # here, not at the top: the server child imports this module

        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> HostileServer:
        here = str(Path(__file__).resolve().parent)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.port), str(self.secret), here, str(self.log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        from sitesrv import wait_listening

        try:
            wait_listening(self.proc, self.port, "the hostile test server", timeout=20)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def requests(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []
