"""The eventscout command: a thin layer of click commands over the library."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from aggregator import __version__
from aggregator import constants as C

logger = logging.getLogger("eventscout")


class Abort(click.ClickException):
    """An error that stops the command: one line, exit 1."""

    exit_code = C.EXIT_ERROR

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


@dataclass
class App:
    config_dir: str | None = None
    db: str | None = None
    now_text: str | None = None
    verbose: int = 0
    quiet: bool = False
    log_file: str | None = None
    _config: Any = None
    _engine: Any = None
    _now: datetime | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        if self._now is None:
            if self.now_text:
                try:
                    value = datetime.fromisoformat(self.now_text.replace("Z", "+00:00"))
                except ValueError:
                    raise click.BadParameter(f"not an ISO 8601 instant: {self.now_text!r}",
                                             param_hint="--now") from None
                self._now = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
            else:
                self._now = datetime.now(UTC)
        return self._now

    @property
    def config(self):  # type: ignore[no-untyped-def]
        if self._config is None:
            from aggregator.config import ConfigError, find_config_dir, load_config

            try:
                found = find_config_dir(self.config_dir)
                self.config_dir = str(found) if found else None
                self._config = load_config(found)
            except ConfigError as exc:
                for line in exc.problems:
                    click.echo(line, err=True)
                raise SystemExit(C.EXIT_ERROR) from None
        return self._config

    @property
    def db_url(self) -> str:
        from aggregator.db import resolve_url

        return resolve_url(self.db, self.config.settings.database_url)

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        if self._engine is None:
            from aggregator.db import DatabaseError, open_database

            try:
                self._engine = open_database(self.db_url)
            except DatabaseError as exc:
                raise Abort(str(exc)) from None
        return self._engine

    def session(self):  # type: ignore[no-untyped-def]
        from aggregator.db import session_scope

        return session_scope(self.engine)

    def say(self, message: str) -> None:
        if not self.quiet:
            click.echo(message)


pass_app = click.make_pass_decorator(App)


class _OwnMessages(logging.Filter):
    """Keeps eventscout's own log records; Scrapy's and Twisted's are for -v."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(("scrapy", "twisted", "py.warnings", "protego"))


def _setup_logging(verbose: int, quiet: bool, log_file: str | None) -> None:
    level = logging.WARNING
    if verbose == 1:
        level = logging.INFO
    elif verbose >= 2:
        level = logging.DEBUG
    if quiet:
        level = logging.ERROR
    handlers: list[logging.Handler] = []
    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(level)
    if verbose == 0:
        # the crawler's own messages repeat the one-line `failed:` reasons: shown with -v only
        stream.addFilter(_OwnMessages())
    handlers.append(stream)
    if log_file:
        try:
            fh = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise Abort(f"cannot write the log file {log_file}: {exc.strerror}") from None
        fh.setLevel(logging.INFO)
        if verbose == 0:
            fh.addFilter(_OwnMessages())
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(fh)
    root = logging.getLogger()
    root.handlers = handlers
    root.setLevel(min(h.level for h in handlers))
    for noisy in ("scrapy", "twisted", "py.warnings", "filelock", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING) if verbose < 2 else logging.DEBUG)


class Group(click.Group):
    """Turns unexpected errors into one line (a traceback only with -v)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # the last line of defence for the user: one line, exit 1
            from aggregator.db import BUSY_TIMEOUT_S, is_locked

            app = ctx.find_object(App)
            if is_locked(exc):
                raise Abort(f"the database is busy: another process kept it locked for over "
                            f"{BUSY_TIMEOUT_S:g} s (EVENTSCOUT_BUSY_TIMEOUT); try again later") from None
            if app is not None and app.verbose:
                raise
            raise Abort(f"{type(exc).__name__}: {exc} (run with -v for details)") from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_dir", metavar="DIR", help="Configuration directory (default: "
              "$EVENTSCOUT_CONFIG, ./config, then the user config dir).")
@click.option("--db", metavar="URL", help="Database URL (SQLAlchemy); overrides $EVENTSCOUT_DB and database.url.")
@click.option("--now", "now_text", metavar="ISO8601", help="Pretend it is this instant (replays, tests).")
@click.option("-v", "--verbose", count=True, help="More output; -vv for debugging.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--log-file", metavar="PATH", help="Also append a log (one line per source outcome) to PATH.")
@click.version_option(__version__, prog_name="eventscout")
@click.pass_context
def cli(ctx: click.Context, config_dir: str | None, db: str | None, now_text: str | None,
        verbose: int, quiet: bool, log_file: str | None) -> None:
    """eventscout finds the events and groups worth your time for your career and sends a weekly
    digest organised around three goals: support, opportunities, visibility.

    \b
    Typical use:
      eventscout init ~/es            # a starter configuration
      eventscout --config ~/es collect
      eventscout --config ~/es events --industry fintech --near Berlin
      eventscout --config ~/es digest --profile ana
    """
    _setup_logging(verbose, quiet, log_file)
    ctx.obj = App(config_dir=config_dir, db=db, now_text=now_text, verbose=verbose, quiet=quiet,
                  log_file=log_file)


def main() -> None:
    try:
        cli.main(prog_name="eventscout", standalone_mode=True)
    except BrokenPipeError:
        os._exit(0)


# --------------------------------------------------------------------------- filters

def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The listing filters shared by events, groups and rank."""
    options = [
        click.option("--industry", "industries", multiple=True, metavar="SLUG",
                     help="Only this industry (and its sub-industries); repeatable."),
        click.option("--kind", "kinds", multiple=True, metavar="KIND", help="Only this kind; repeatable."),
        click.option("--goal", "goals", multiple=True, metavar="GOAL",
                     help="Only events serving this goal (support, opportunities, visibility)."),
        click.option("--city", "cities", multiple=True, metavar="CITY", help="Only in this city; repeatable."),
        click.option("--country", "countries", multiple=True, metavar="CC", help="Only in this country (ISO code)."),
        click.option("--near", metavar="PLACE", help='Only within --radius-km of PLACE ("Berlin, DE").'),
        click.option("--radius-km", type=click.FloatRange(min=0), default=50.0, show_default=True),
        click.option("--online/--in-person", "online", default=None, help="Only online / only in-person events."),
        click.option("--from", "start", metavar="DATE", help="Starting on or after DATE (default: now)."),
        click.option("--to", "end", metavar="DATE", help="Starting before the end of DATE."),
        click.option("--week", metavar="YYYY-Www", help="Only this ISO week, e.g. 2026-W49."),
        click.option("--query", metavar="TEXT", help="Words that must all appear."),
        click.option("--source", "sources", multiple=True, metavar="NAME", help="Only from this source."),
        click.option("--status", "statuses", multiple=True, metavar="STATUS", help="Only this status."),
        click.option("--limit", type=click.IntRange(min=1), help="At most N results."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_filters(app: App, kw: dict[str, Any], *, tz: str = "UTC", default_from_now: bool = True):  # type: ignore[no-untyped-def]
    from aggregator.queries import FilterError, Filters, iso_week_bounds, parse_when, validate

    try:
        f = Filters(industries=list(kw.pop("industries", ())), kinds=list(kw.pop("kinds", ())),
                    goals=list(kw.pop("goals", ())), cities=list(kw.pop("cities", ())),
                    countries=list(kw.pop("countries", ())), near=kw.pop("near", None),
                    radius_km=kw.pop("radius_km", 50.0), online=kw.pop("online", None),
                    query=kw.pop("query", None), sources=list(kw.pop("sources", ())),
                    statuses=list(kw.pop("statuses", ())), limit=kw.pop("limit", None))
        start, end, week = kw.pop("start", None), kw.pop("end", None), kw.pop("week", None)
        if week:
            f.start, f.end = iso_week_bounds(week, tz)
        if start:
            f.start = parse_when(start, tz)
        if end:
            f.end = parse_when(end, tz, end=True)
        if f.start is None and default_from_now:
            f.start = app.now
        validate(f, app.config)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
    return f


# --------------------------------------------------------------------------- init / db

@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@pass_app
def init(app: App, directory: Path | None, force: bool) -> None:
    """Write a starter configuration (sources, profiles, industries, settings) to DIRECTORY
    (default: the user config dir)."""
    from aggregator.config import user_config_dir, write_starter

    target = directory or user_config_dir()
    try:
        written = write_starter(target, force=force)
    except FileExistsError as exc:
        raise Abort(f"not overwriting {exc} (--force overwrites)") from None
    except OSError as exc:
        raise Abort(f"cannot write the configuration to {target}: {exc.strerror or exc}") from None
    for dest in written:
        app.say(f"wrote {dest}")
    app.say(f"next: edit {target / 'sources.toml'} and {target / 'profiles.toml'}, then "
            f"`eventscout --config {target} collect`")


@cli.group(cls=Group)
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Apply pending migrations (also done automatically on first use)."""
    from aggregator.db import DatabaseError, make_engine, upgrade

    try:
        engine = make_engine(app.db_url)
        before, after = upgrade(engine)
    except DatabaseError as exc:
        raise Abort(str(exc)) from None
    from sqlalchemy.exc import SQLAlchemyError  # noqa: F401

    if before == after:
        app.say(f"database is up to date (revision {after})")
    else:
        app.say(f"database upgraded from {before or 'empty'} to {after}")


# --------------------------------------------------------------------------- events / groups

EVENT_COLUMNS = [("start", "when", 16), ("title", "title", 20), ("city", "where", 8),
                 ("kinds", "kind", 8), ("status", "status", 6), ("id", "id", 16)]
EVENT_CSV = ["id", "title", "start", "end", "timezone", "all_day", "venue", "city", "country", "online",
             "kinds", "goals", "industries", "tags", "status", "price", "currency", "organizer", "group",
             "cfp_deadline", "sources", "url", "urls", "first_seen", "last_seen"]


def _table_row(event: dict[str, Any]) -> dict[str, Any]:
    row = dict(event)
    start = event.get("start")
    if start is not None:
        row["start"] = start.strftime("%Y-%m-%d") if event.get("all_day") else start.strftime("%Y-%m-%d %H:%M")
    row["city"] = "online" if event.get("online") and not event.get("city") else (event.get("city") or "")
    return row


def emit_data(rows: list[dict[str, Any]], fmt: str, csv_columns: list[str]) -> bool:
    """Print rows as json, jsonl or csv; False for the other formats (the caller's own)."""
    from aggregator import output

    if fmt == "json":
        click.echo(output.as_json(rows))
    elif fmt == "jsonl":
        click.echo(output.as_jsonl(rows), nl=False)
    elif fmt == "csv":
        click.echo(output.as_csv(rows, csv_columns), nl=False)
    else:
        return False
    return True


def emit_events(events: list[dict[str, Any]], fmt: str, app: App, *, columns=None) -> None:  # type: ignore[no-untyped-def]
    from aggregator import output

    if emit_data(events, fmt, EVENT_CSV):
        return
    if fmt == "ics":
        from aggregator.digest.ics import events_calendar

        sys.stdout.buffer.write(events_calendar(events, now=app.now))
        sys.stdout.flush()
    else:
        if not events:
            app.say("no events match (widen the filters, or run `eventscout collect` first)")
            return
        click.echo(output.as_table([_table_row(e) for e in events], columns or EVENT_COLUMNS), nl=False)


@cli.command()
@filter_options
@click.option("--format", "fmt", type=click.Choice(C.LIST_FORMATS), default="table", show_default=True)
@pass_app
def events(app: App, fmt: str, **kw: Any) -> None:
    """List collected events (from now on unless --from/--week says otherwise)."""
    from aggregator.queries import FilterError, event_dict, find_events

    filters = build_filters(app, kw)
    with app.session() as session:
        try:
            rows = [event_dict(e) for e in find_events(session, filters, app.config)]
        except FilterError as exc:
            raise click.UsageError(str(exc)) from None
    emit_events(rows, fmt, app)


GROUP_COLUMNS = [("name", "name", 20), ("city", "city", 8), ("industries", "industries", 10),
                 ("events_next_90d", "next 90d", 8), ("last_event", "last event", 10), ("url", "url", 20)]
GROUP_CSV = ["id", "name", "url", "city", "country", "industries", "tags", "events_last_90d",
             "events_next_90d", "last_event"]


@cli.command()
@filter_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default="table",
              show_default=True)
@pass_app
def groups(app: App, fmt: str, **kw: Any) -> None:
    """List professional groups with their activity (events in the last and next 90 days)."""
    from aggregator import output
    from aggregator.queries import find_groups

    filters = build_filters(app, kw, default_from_now=False)
    with app.session() as session:
        rows = find_groups(session, filters, app.config, app.now)
    if emit_data(rows, fmt, GROUP_CSV):
        return
    if not rows:
        app.say("no groups yet (run `eventscout collect` first)")
    else:
        for r in rows:
            r["last_event"] = r["last_event"].strftime("%Y-%m-%d") if r["last_event"] else ""
        click.echo(output.as_table(rows, GROUP_COLUMNS), nl=False)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def stats(app: App, fmt: str) -> None:
    """Counts by source, kind, industry and week; the database size."""
    from aggregator.stats import collect_stats, render_stats

    with app.session() as session:
        data = collect_stats(session, app.db_url, app.now)
    if fmt == "json":
        import json

        from aggregator.queries import to_json_value

        click.echo(json.dumps(to_json_value(data), indent=2, ensure_ascii=False))
    else:
        click.echo(render_stats(data), nl=False)


# --------------------------------------------------------------------------- collect / sources

def _progress_printer(app: App, total: int) -> Callable[[Any], None] | None:
    """A progress line on a terminal; nothing under cron."""
    if app.quiet or not sys.stderr.isatty() or total == 0:
        return None
    done = {"n": 0}

    def show(result: Any) -> None:
        done["n"] += 1
        mark = "ok" if result.ok else "FAILED"
        width = 30
        filled = int(width * done["n"] / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done['n']}/{total} "
                         f"{result.source[:30]:30} {mark:6}")
        if done["n"] == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def do_collect(app: App, names: list[str], queue: str | None = None) -> Any:
    """Run one crawl; returns the CollectSummary. Exits 1 when nothing can run."""
    from aggregator.collect import crawl_gc

    # from the start: loading SQLAlchemy and Scrapy made ~270 collections, two of them full
    with crawl_gc():
        return _collect(app, names, queue)


def _collect(app: App, names: list[str], queue: str | None) -> Any:
    from aggregator.collect import run_collect

    config = app.config
    unknown = [n for n in names if config.source(n) is None]
    if unknown:
        raise click.UsageError(f"unknown source {', '.join(unknown)}; configured: "
                               f"{', '.join(s.name for s in config.sources) or '(none)'}")
    chosen = [s for s in config.sources if (s.name in names if names else s.enabled)]
    if not chosen:
        raise Abort("no enabled sources to collect (add one with `eventscout sources add URL`)")
    app.engine  # noqa: B018  (migrate and fail early, before the crawl starts)
    from aggregator import context

    context.prime(app.config_dir, config)
    log_level = "DEBUG" if app.verbose >= 2 else ("INFO" if app.verbose else "ERROR")
    summary = run_collect(app.config_dir, app.db_url, app.now if app.now_text else None, names,
                          queue=queue, on_source=_progress_printer(app, len(chosen)), log_level=log_level)
    return summary


@cli.command()
@click.option("--source", "names", multiple=True, metavar="NAME", help="Only this source; repeatable.")
@click.option("--queue", metavar="REDIS_URL",
              help="Share one request queue with other workers (scrapy-redis), e.g. redis://HOST:6379/0.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the summary with the crawl's counters (eventscout/* stats).")
@pass_app
def collect(app: App, names: tuple[str, ...], queue: str | None, fmt: str) -> None:
    """Crawl the enabled sources (or --source ones), store their events, print a summary.

    Exit 0 when every source was read, 3 when some failed (the rest were stored)."""
    summary = do_collect(app, list(names), queue)
    if fmt == "json":
        import dataclasses
        import json

        data = dataclasses.asdict(summary)
        data["stats"] = {k: v for k, v in summary.stats.items()
                         if k.startswith(("eventscout/", "downloader/response_status"))}
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for name, reason in sorted(summary.failed.items()):
            if not app.quiet:
                click.echo(f"failed: {name}: {reason}", err=True)
        app.say(summary.line)
    if summary.sources_failed:
        raise SystemExit(C.EXIT_PARTIAL)


@cli.group(cls=Group)
def sources() -> None:
    """List, check, add and remove sources."""


SOURCE_COLUMNS = [("name", "name", 12), ("type", "type", 4), ("enabled", "on", 3), ("ok", "ok", 4),
                  ("items_last_run", "items", 5), ("last_success", "last success", 16),
                  ("consecutive_failures", "fails", 5), ("last_error", "last error", 20)]


def source_rows(app: App) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from aggregator.models import Source

    with app.session() as session:
        health = {s.name: s for s in session.scalars(select(Source))}
    rows = []
    for src in app.config.sources:
        h = health.get(src.name)
        rows.append({
            "name": src.name, "type": src.type, "url": src.url, "enabled": src.enabled,
            "ok": None if h is None else bool(h.ok),
            "last_error": h.last_error if h else None,
            "last_success": h.last_success if h else None,
            "last_attempt": h.last_attempt if h else None,
            "consecutive_failures": h.consecutive_failures if h else 0,
            "items_last_run": h.items_last_run if h else None,
        })
    return rows


@sources.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default="table",
              show_default=True)
@pass_app
def sources_list(app: App, fmt: str) -> None:
    """The configured sources with their health (last success, failures, items last time)."""
    from aggregator import output

    rows = source_rows(app)
    if emit_data(rows, fmt, [c[0] for c in SOURCE_COLUMNS] + ["url"]):
        return
    if not rows:
        app.say("no sources configured (add one with `eventscout sources add URL`)")
    else:
        for r in rows:
            r["ok"] = "-" if r["ok"] is None else ("yes" if r["ok"] else "NO")
            r["enabled"] = "yes" if r["enabled"] else "no"
            r["last_success"] = r["last_success"].strftime("%Y-%m-%d %H:%M") if r["last_success"] else ""
        click.echo(output.as_table(rows, SOURCE_COLUMNS), nl=False)


@sources.command("check")
@click.argument("names", nargs=-1)
@pass_app
def sources_check(app: App, names: tuple[str, ...]) -> None:
    """Fetch the sources (all enabled, or NAMES), store them and report each one's health.

    Exit 3 when any failed."""
    summary = do_collect(app, list(names))
    rows = [r for r in source_rows(app) if (r["name"] in names if names else r["enabled"])]
    for r in rows:
        state = "ok" if r["ok"] else "FAILED"
        detail = f"{r['items_last_run'] or 0} events" if r["ok"] else (r["last_error"] or "")
        click.echo(f"{r['name']}: {state} ({detail})")
    if summary.sources_failed:
        raise SystemExit(C.EXIT_PARTIAL)


@sources.command("add")
@click.argument("url")
@click.option("--name", help="The source's name (default: from the URL).")
@click.option("--type", "type_", type=click.Choice(C.SOURCE_TYPES), help="Skip detection: use this type.")
@click.option("--group", help="The group that runs it.")
@click.option("--industry", "industries", multiple=True, help="Industry hint; repeatable.")
@click.option("--city")
@click.option("--country")
@click.option("--timezone")
@pass_app
def sources_add(app: App, url: str, name: str | None, type_: str | None, group: str | None,
                industries: tuple[str, ...], city: str | None, country: str | None,
                timezone: str | None) -> None:
    """Detect URL's type (feed autodiscovery, iCal, structured data) and append it to sources.toml,
    keeping your comments."""
    from aggregator.sources_admin import AdminError, add_source

    config = app.config
    if app.config_dir is None:
        raise Abort("no configuration directory: run `eventscout init DIR` first or pass --config DIR")
    try:
        entry = add_source(Path(app.config_dir), config, url, name=name, type_=type_, group=group,
                           industries=list(industries), city=city, country=country, timezone=timezone,
                           user_agent=config.settings.user_agent)
    except AdminError as exc:
        raise Abort(str(exc)) from None
    app.say(f"added {entry['name']} ({entry['type']}): {entry['url']}")


@sources.command("remove")
@click.argument("name")
@pass_app
def sources_remove(app: App, name: str) -> None:
    """Remove NAME from sources.toml (its events stay in the database)."""
    from aggregator.sources_admin import AdminError, remove_source

    if app.config_dir is None:
        raise Abort("no configuration directory")
    app.config  # noqa: B018  (validate first)
    try:
        remove_source(Path(app.config_dir), name)
    except AdminError as exc:
        raise Abort(str(exc)) from None
    app.say(f"removed {name}")


# --------------------------------------------------------------------------- rank / feedback

def _ranked_json(r: Any, explain: bool) -> dict[str, Any]:
    obj = dict(r.event)
    obj["score"] = round(float(r.score), 4)
    obj["reasons"] = list(r.reasons)
    if explain:
        obj["components"] = {k: round(float(v), 4) for k, v in r.components.items()}
        obj["details"] = dict(getattr(r, "details", {}) or {})
    return obj


def _when(ev: dict[str, Any]) -> str:
    start = ev.get("start")
    if start is None:
        return ""
    return start.strftime("%a %d %b") if ev.get("all_day") else start.strftime("%a %d %b %H:%M")


@cli.command()
@click.option("--profile", "profile_name", required=True, metavar="NAME", help="The profile to rank for.")
@click.option("--groups", "for_groups", is_flag=True, help="Rank groups instead of events.")
@filter_options
@click.option("--explain", is_flag=True, help="Show each score component's contribution.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv", "ics"]), default="table",
              show_default=True)
@pass_app
def rank(app: App, profile_name: str, for_groups: bool, explain: bool, fmt: str, **kw: Any) -> None:
    """Events (or groups) ranked for a profile, best first, each with the reasons it was picked."""
    from aggregator.service import ServiceError, rank_events, rank_groups_for, require_profile

    try:
        profile = require_profile(app.config, profile_name)
    except ServiceError as exc:
        raise click.UsageError(str(exc)) from None
    tz = profile.timezone or app.config.settings.digest_timezone
    filters = build_filters(app, kw, tz=tz)
    with app.session() as session:
        if for_groups:
            ranked = rank_groups_for(session, app.config, profile, app.now, filters, explain=explain)
        else:
            ranked = rank_events(session, app.config, profile, app.now, filters, explain=explain)
    rows = [_ranked_json(r, explain) for r in ranked]
    if emit_data(rows, fmt, ["score", *(GROUP_CSV if for_groups else EVENT_CSV), "reasons"]):
        return
    if fmt == "ics":
        if for_groups:
            raise click.UsageError("--format ics lists events, not groups")
        emit_events([r.event for r in ranked], "ics", app)
    elif not rows:
        app.say(f"nothing matches profile {profile_name!r} yet. Hints: widen radius_km or allow online "
                "events, check exclude/kinds/max_price, or run `eventscout collect`.")
    else:
        for i, r in enumerate(ranked, 1):
            ev = r.event
            title = ev.get("name") if for_groups else ev.get("title")
            where = ev.get("city") or ("online" if ev.get("online") else "")
            head = f"{i:>3}. {r.score:5.2f}  {title}"
            meta = "" if for_groups else f"{_when(ev)} · {where} · {', '.join(ev.get('kinds') or [])}"
            click.echo(head)
            if meta:
                click.echo(f"            {meta}")
            if r.reasons:
                click.echo(f"            why: {'; '.join(r.reasons)}")
            if explain:
                parts = ", ".join(f"{k} {v:+.2f}" for k, v in r.components.items() if v)
                click.echo(f"            score: {parts}")
            url = ev.get("url")
            if url:
                click.echo(f"            {url}")


@cli.command()
@click.option("--profile", "profile_name", required=True, metavar="NAME")
@click.argument("event_id")
@click.argument("signal", type=click.Choice(C.FEEDBACK_SIGNALS))
@pass_app
def feedback(app: App, profile_name: str, event_id: str, signal: str) -> None:
    """Teach the ranking: like, dislike, going or hide an event (similar items move up or down)."""
    from aggregator.service import ServiceError, add_feedback, require_profile

    try:
        require_profile(app.config, profile_name)
        with app.session() as session:
            event = add_feedback(session, profile_name, event_id, signal, app.now)
            title = event.title
    except ServiceError as exc:
        raise click.UsageError(str(exc)) from None
    app.say(f"{profile_name}: {signal} {title!r}")


# --------------------------------------------------------------------------- digest / run / demo

@cli.command()
@click.option("--profile", "profile_name", required=True, metavar="NAME")
@click.option("--week", metavar="YYYY-Www", help="The ISO week (default: the week that contains tomorrow).")
@click.option("--from", "start", metavar="DATE", help="A custom period instead of a week (with --to).")
@click.option("--to", "end", metavar="DATE")
@click.option("--format", "fmt", type=click.Choice(C.DIGEST_FORMATS), default="text", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to PATH instead of stdout.")
@click.option("--send", is_flag=True, help="Email it (SMTP from eventscout.toml); once per profile and week.")
@click.option("--force", is_flag=True, help="With --send: send again even if this week was sent.")
@pass_app
def digest(app: App, profile_name: str, week: str | None, start: str | None, end: str | None, fmt: str,
           out: Path | None, send: bool, force: bool) -> None:
    """The weekly digest of a profile: deadlines, support, opportunities, visibility, groups, changes."""
    from aggregator.digest import SendError, render
    from aggregator.queries import FilterError, parse_when
    from aggregator.service import DigestRequest, ServiceError, build_profile_digest, require_profile, send_digest

    try:
        profile = require_profile(app.config, profile_name)
    except ServiceError as exc:
        raise click.UsageError(str(exc)) from None
    tz = profile.timezone or app.config.settings.digest_timezone
    request = DigestRequest(week=week)
    if bool(start) != bool(end):
        raise click.UsageError("--from and --to go together")
    if week and start:
        raise click.UsageError("use either --week or --from/--to")
    try:
        if start and end:
            request.start, request.end = parse_when(start, tz), parse_when(end, tz, end=True)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
    if week:
        from aggregator.digest import parse_week

        try:
            parse_week(week)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    if send:
        try:
            state, built = send_digest(app.engine, app.config, profile, app.now, request, force=force)
        except (SendError, ServiceError) as exc:
            raise Abort(str(exc)) from None
        if state == "skipped":
            app.say(f"{profile_name}: {built.label} was sent already (--force sends it again)")
        elif state == "empty":
            app.say(f"{profile_name}: nothing new for {built.label}: not sent (--force sends it anyway)")
        else:
            app.say(f"{profile_name}: sent {built.label} to {profile.email} ({built.summary()})")
        return
    with app.session() as session:
        built = build_profile_digest(session, app.config, profile, app.now, request)
    options = {"from_addr": app.config.settings.smtp.from_addr} if fmt == "eml" else {}
    rendered = render(built, fmt, **options)
    data = rendered if isinstance(rendered, bytes) else rendered.encode("utf-8")
    if out is not None:
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise Abort(f"cannot write {out}: {exc.strerror}") from None
        app.say(f"wrote {out} ({built.label}: {built.summary()})")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


@cli.command()
@click.option("--skip-collect", is_flag=True, help="Use what is stored; do not crawl.")
@click.option("--dry-run", is_flag=True, help="Write each digest as an .eml file to --out instead of sending.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder for --dry-run.")
@click.option("--force", is_flag=True, help="Send even to profiles whose digest for the week went out.")
@pass_app
def run(app: App, skip_collect: bool, dry_run: bool, out: Path | None, force: bool) -> None:
    """The cron job: collect, then build and send the digest of every profile with an email.

    Exit 0 on success, 3 when some sources or sends failed, 4 when another run holds the lock."""
    from aggregator.digest import SendError
    from aggregator.lock import LockHeld, RunLock
    from aggregator.service import (
        DigestBatch,
        DigestRequest,
        ServiceError,
        period_for,
        send_digest,
        write_digests,
    )

    if dry_run and out is None:
        raise click.UsageError("--dry-run needs --out DIR")
    config = app.config
    try:
        lock = RunLock(app.db_url).__enter__()
    except LockHeld as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(C.EXIT_LOCKED) from None
    partial = False
    try:
        if not skip_collect and any(s.enabled for s in config.sources):
            summary = do_collect(app, [])
            for name, reason in sorted(summary.failed.items()):
                click.echo(f"failed: {name}: {reason}", err=True)
            app.say(summary.line)
            partial = partial or summary.sources_failed > 0
        recipients = [p for p in config.profiles if p.email]
        sent = skipped = failed = empty = 0
        if dry_run:
            assert out is not None
            out.mkdir(parents=True, exist_ok=True)
        periods = {p.name: period_for(p, config, app.now, DigestRequest()) for p in recipients}
        with app.session() as session:   # events, index and groups: read once for every digest
            batch = DigestBatch(session, config, app.now, list(periods.values()))
        if dry_run:
            from aggregator.prepare import default_workers

            sent = write_digests(app.db_url, config, batch, periods, recipients, out, default_workers())
        else:
            for profile in recipients:
                try:
                    state, built = send_digest(app.engine, config, profile, app.now, DigestRequest(), force=force,
                                               batch=batch)
                except (SendError, ServiceError) as exc:
                    failed += 1
                    click.echo(f"failed: digest for {profile.name}: {exc}", err=True)
                    logger.error("digest for %s failed: %s", profile.name, exc)
                    continue
                if state == "skipped":
                    skipped += 1
                elif state == "empty":
                    empty += 1
                else:
                    sent += 1
                    logger.info("digest for %s sent: %s", profile.name, built.summary())
        verb = "written" if dry_run else "sent"
        nothing = f", {empty} with nothing new (not sent)" if empty else ""
        app.say(f"digests: {sent} {verb}, {skipped} already sent{nothing}, {failed} failed")
        if failed:
            partial = True
            if sent == 0 and failed == len(recipients):
                raise SystemExit(C.EXIT_ERROR)
    finally:
        lock.__exit__(None, None, None)
    if partial:
        raise SystemExit(C.EXIT_PARTIAL)


@cli.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the demo's configuration and database in this folder.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "html"]), default="text",
              show_default=True)
@pass_app
def demo(app: App, keep: Path | None, fmt: str) -> None:
    """Run the whole job on bundled sample sources (no network) and print the sample profile's digest."""
    import subprocess
    import tempfile

    from aggregator.demo import materialize

    now = app.now
    folder = keep or Path(tempfile.mkdtemp(prefix="eventscout-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    cfg = materialize(folder, now)
    base = [sys.executable, "-m", "aggregator", "--config", str(cfg), "--now", now.isoformat()]
    if not app.quiet:
        click.echo(f"demo: collecting the sample sources in {cfg} ...", err=True)
    collected = subprocess.run([*base, "-q", "collect"], capture_output=True, text=True)
    if collected.returncode not in (0, 3):
        raise Abort(f"the demo crawl failed: {collected.stderr.strip()[-500:]}")
    shown = subprocess.run([*base, "digest", "--profile", "demo", "--format", fmt], capture_output=True)
    if shown.returncode != 0:
        raise Abort(f"the demo digest failed: {shown.stderr.decode(errors='replace').strip()[-500:]}")
    sys.stdout.buffer.write(shown.stdout)
    sys.stdout.flush()
    if not app.quiet:
        click.echo(f"demo: configuration and database kept in {cfg}" if keep else
                   f"demo: try `eventscout --config {cfg} rank --profile demo --explain`", err=True)
