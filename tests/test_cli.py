"""The CLI through click's CliRunner on a seeded database: filters, formats, errors, help."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import ROOT

from aggregator.cli import cli

SPEC_EVENT_FIELDS = {"id", "title", "description", "url", "start", "end", "timezone", "all_day", "venue",
                     "city", "country", "online", "kinds", "goals", "industries", "tags", "status", "price",
                     "currency", "organizer", "group", "cfp_deadline", "sources", "urls", "first_seen",
                     "last_seen", "changes"}
NOW = "2027-01-31T09:00:00Z"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    d.mkdir()
    (d / "sources.toml").write_text('[[source]]\nname = "berlin-py"\ntype = "feed"\n'
                                    'url = "https://example.org/feed"\n', encoding="utf-8")
    return d


def invoke(config_dir: Path, db: str, *args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["--config", str(config_dir), "--db", db, "--now", NOW, *args])
    return result


def titles(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return [e["title"] for e in json.loads(result.output)]


def test_json_has_every_spec_field(config_dir: Path, seeded: str) -> None:
    result = invoke(config_dir, seeded, "events", "--format", "json")
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)
    assert len(events) == 4
    for ev in events:
        missing = SPEC_EVENT_FIELDS - set(ev)
        assert not missing, f"event JSON lacks SPEC fields {missing}"
    meetup = next(e for e in events if e["title"].startswith("PyData"))
    assert meetup["start"] == "2027-02-03T18:30:00+01:00", "start is ISO 8601 in the event's zone"
    assert meetup["sources"] == ["berlin-py"] and meetup["price"] == 0 and meetup["timezone"] == "Europe/Berlin"
    starts = [e["start"] for e in events]
    assert starts == sorted(starts, key=lambda s: __import__("datetime").datetime.fromisoformat(s))


def test_industry_filter_includes_sub_industries(config_dir: Path, seeded: str) -> None:
    assert titles(invoke(config_dir, seeded, "events", "--industry", "finance", "--format", "json")) == [
        "Fintech Career Fair Berlin"]
    assert titles(invoke(config_dir, seeded, "events", "--industry", "fintech", "--format", "json")) == [
        "Fintech Career Fair Berlin"]


@pytest.mark.parametrize(("args", "expected"), [
    (["--kind", "career-fair"], ["Fintech Career Fair Berlin"]),
    (["--goal", "visibility"], ["DataConf Europe 2027"]),
    (["--online"], ["Online: Security Webinar on Cloud IAM"]),
    (["--in-person", "--city", "berlin"], ["PyData Berlin Meetup: Data Engineering with Python",
                                           "Fintech Career Fair Berlin"]),
    (["--country", "de", "--from", "2027-03-01"], ["DataConf Europe 2027"]),
    (["--to", "2027-02-04"], ["PyData Berlin Meetup: Data Engineering with Python"]),
    (["--week", "2027-W06"], ["Fintech Career Fair Berlin"]),
    (["--query", "cloud iam"], ["Online: Security Webinar on Cloud IAM"]),
    (["--near", "Potsdam, DE", "--radius-km", "40"], ["PyData Berlin Meetup: Data Engineering with Python",
                                                       "Fintech Career Fair Berlin"]),
    (["--near", "Potsdam, DE", "--radius-km", "5"], []),
    (["--source", "other"], []),
    (["--status", "cancelled"], []),
    (["--limit", "1"], ["PyData Berlin Meetup: Data Engineering with Python"]),
])
def test_filters(config_dir: Path, seeded: str, args: list[str], expected: list[str]) -> None:
    assert titles(invoke(config_dir, seeded, "events", *args, "--format", "json")) == expected


@pytest.mark.parametrize(("args", "message"), [
    (["--industry", "fintec"], "unknown industry 'fintec'; valid: biotech"),
    (["--kind", "party"], "unknown kind 'party'; valid: conference"),
    (["--goal", "fame"], "unknown goal 'fame'; valid: support, opportunities, visibility"),
    (["--week", "2027-49"], "not an ISO week"),
    (["--from", "tomorrow"], "not a date"),
])
def test_bad_filter_values_are_usage_errors(config_dir: Path, seeded: str, args: list[str], message: str) -> None:
    result = invoke(config_dir, seeded, "events", *args)
    assert result.exit_code == 2, f"a bad filter is a usage error (exit 2), got {result.exit_code}: {result.output}"
    assert message in result.output


def test_jsonl_csv_and_table(config_dir: Path, seeded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    lines = invoke(config_dir, seeded, "events", "--format", "jsonl").output.splitlines()
    assert len(lines) == 4 and all(json.loads(line)["id"] for line in lines)
    rows = list(csv.DictReader(io.StringIO(invoke(config_dir, seeded, "events", "--format", "csv").output)))
    assert len(rows) == 4 and rows[0]["title"].startswith("PyData") and rows[0]["sources"] == "berlin-py"
    table = invoke(config_dir, seeded, "events").output
    assert "Fintech Career Fair Berlin" in table and "online" in table


def test_table_fits_a_narrow_terminal(config_dir: Path, seeded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    table = invoke(config_dir, seeded, "events").output
    assert max(len(line) for line in table.splitlines()) <= 70


def test_ics_parses_with_icalendar(config_dir: Path, seeded: str) -> None:
    import icalendar

    result = CliRunner().invoke(cli, ["--config", str(config_dir), "--db", seeded, "--now", NOW,
                                      "events", "--format", "ics"])
    assert result.exit_code == 0, result.output
    cal = icalendar.Calendar.from_ical(result.stdout_bytes)
    events = [c for c in cal.walk("VEVENT")]
    summaries = {str(e["SUMMARY"]) for e in events}
    assert "Fintech Career Fair Berlin" in summaries
    assert len({str(e["UID"]) for e in events}) == len(events), "every entry has its own UID"


def test_groups_and_stats(config_dir: Path, seeded: str) -> None:
    groups = json.loads(invoke(config_dir, seeded, "groups", "--format", "json").output)
    assert groups[0]["name"] == "PyData Berlin" and groups[0]["events_next_90d"] == 1
    assert {"id", "name", "url", "city", "country", "industries", "tags", "events_last_90d",
            "events_next_90d", "last_event"} <= set(groups[0])
    stats = json.loads(invoke(config_dir, seeded, "stats", "--format", "json").output)
    assert stats["events"] == 4 and stats["by_source"] == {"berlin-py": 4}


def test_init_then_events_prints_empty_list(tmp_path: Path) -> None:
    target = tmp_path / "es"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(target)]).exit_code == 0
    result = runner.invoke(cli, ["--config", str(target), "--db", f"sqlite:///{tmp_path / 'x.db'}",
                                 "events", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "[]"
    again = runner.invoke(cli, ["init", str(target)])
    assert again.exit_code == 1 and "not overwriting" in again.output


def test_typo_in_sources_is_reported_with_file_and_line(tmp_path: Path) -> None:
    d = tmp_path / "cfg"
    d.mkdir()
    (d / "sources.toml").write_text('# mine\n[[source]]\nname = "a"\ntype = "icall"\nurl = "https://x.org/c.ics"\n')
    result = CliRunner().invoke(cli, ["--config", str(d), "events"])
    assert result.exit_code == 1
    assert f"{d / 'sources.toml'}:4: unknown source type 'icall'" in result.output


def test_unreachable_database_is_one_line_exit_1(config_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config_dir), "--db",
                                      "postgresql+psycopg://nobody@127.0.0.1:1/none", "events"])
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot open the database") and "Traceback" not in result.output


def _commands(group, prefix=""):  # type: ignore[no-untyped-def]
    import click

    for name, cmd in group.commands.items():
        yield f"{prefix}{name}", cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, f"{prefix}{name} ")


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, cmd in _commands(cli):
        result = CliRunner().invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0, f"{name} --help failed"
        assert (cmd.help or "").strip(), f"command {name!r} has no help text"
        assert re.search(rf"eventscout[^\n`]* {re.escape(name)}\b", readme), \
            f"command {name!r} is not shown in README.md"


PROFILES = """[[profile]]
name = "ana"
email = "ana@example.org"
interests = ["data engineering^2", "python", "mentoring"]
industries = ["data"]
location = "Berlin, DE"
radius_km = 50
online = true
"""


def test_rank_explains_and_feedback_teaches_it(config_dir: Path, seeded: str) -> None:
    (config_dir / "profiles.toml").write_text(PROFILES, encoding="utf-8")
    ranked = json.loads(invoke(config_dir, seeded, "rank", "--profile", "ana", "--explain",
                               "--format", "json").output)
    assert ranked[0]["title"] == "PyData Berlin Meetup: Data Engineering with Python"
    assert "matches 'data engineering' in title" in ranked[0]["reasons"]
    assert ranked[0]["components"]["text"] > 0 and "score" in ranked[0]
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    table = invoke(config_dir, seeded, "rank", "--profile", "ana", "--explain").output
    assert "why: matches 'data engineering' in title" in table and "score: text +" in table

    hidden = ranked[0]["id"]
    result = invoke(config_dir, seeded, "feedback", "--profile", "ana", hidden, "hide")
    assert result.exit_code == 0 and "ana: hide" in result.output
    after = json.loads(invoke(config_dir, seeded, "rank", "--profile", "ana", "--format", "json").output)
    assert hidden not in [r["id"] for r in after], "a hidden event is never recommended again"

    bad = invoke(config_dir, seeded, "feedback", "--profile", "ana", "nope", "like")
    assert bad.exit_code == 2 and "no event with id 'nope'" in bad.output
    unknown = invoke(config_dir, seeded, "rank", "--profile", "bob")
    assert unknown.exit_code == 2 and "unknown profile 'bob'; configured: ana" in unknown.output


def test_rank_with_nothing_matching_gives_a_hint(config_dir: Path, seeded: str) -> None:
    (config_dir / "profiles.toml").write_text(PROFILES.replace('online = true', 'online = false\n'
                                              'kinds = ["hackathon"]'), encoding="utf-8")
    result = invoke(config_dir, seeded, "rank", "--profile", "ana")
    assert result.exit_code == 0
    assert "nothing matches profile 'ana' yet. Hints:" in result.output
    assert invoke(config_dir, seeded, "rank", "--profile", "ana", "--format", "json").output.strip() == "[]"


def test_db_upgrade_creates_then_reports_up_to_date(tmp_path: Path) -> None:
    from aggregator.db import head_revision

    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = CliRunner().invoke(cli, ["--db", url, "db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == f"database upgraded from empty to {head_revision()}"
    again = CliRunner().invoke(cli, ["--db", url, "db", "upgrade"])
    assert again.output.strip() == f"database is up to date (revision {head_revision()})"
