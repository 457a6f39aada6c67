"""SQLAlchemy 2 models. Every schema change gets an Alembic revision in aggregator/migrations/."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        from datetime import UTC

        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Source(Base):
    __tablename__ = "sources"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(Text)
    ok: Mapped[bool | None] = mapped_column(Boolean, default=None)
    last_attempt: Mapped[datetime | None]
    last_success: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    items_last_run: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))


class Event(Base):
    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end_utc: Mapped[datetime | None]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    venue: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(120), index=True)
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    hybrid: Mapped[bool] = mapped_column(Boolean, default=False)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    status_reason: Mapped[str | None] = mapped_column(String(32))
    previous_start_utc: Mapped[datetime | None]
    price: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    organizer: Mapped[str | None] = mapped_column(Text)
    group_name: Mapped[str | None] = mapped_column(Text)
    cfp_deadline: Mapped[str | None] = mapped_column(String(40))   # ISO date or datetime
    cfp_deadline_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    cfp_url: Mapped[str | None] = mapped_column(Text)
    series: Mapped[str | None] = mapped_column(Text)
    recurrence_id: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(16))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    links: Mapped[list[EventSource]] = relationship(
        back_populates="event", cascade="all, delete-orphan", lazy="selectin"
    )
    changes: Mapped[list[EventChange]] = relationship(
        back_populates="event", cascade="all, delete-orphan", lazy="selectin",
        order_by="EventChange.id",
    )


class EventSource(Base):
    """One source's view of one event: its key there, its snapshot, whether it still lists it."""

    __tablename__ = "event_sources"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_event_sources_source_key"),
                      Index("ix_event_sources_url", "url", postgresql_using="hash"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    key: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    uid: Mapped[str | None] = mapped_column(Text, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changed_at: Mapped[datetime]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    event: Mapped[Event] = relationship(back_populates="links")


class EventChange(Base):
    __tablename__ = "event_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    seen: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(String(100))

    event: Mapped[Event] = relationship(back_populates="changes")


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_profile", "profile"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    profile: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(32))
    signal: Mapped[str] = mapped_column(String(10))
    created: Mapped[datetime]


class SentDigest(Base):
    __tablename__ = "sent_digests"
    __table_args__ = (UniqueConstraint("profile", "week", name="uq_sent_digests_profile_week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    profile: Mapped[str] = mapped_column(String(100))
    week: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime]
    message_id: Mapped[str | None] = mapped_column(Text)
    recipient: Mapped[str | None] = mapped_column(Text)
    items: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)   # event id -> fingerprint
