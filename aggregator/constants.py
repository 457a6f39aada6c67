"""The fixed vocabularies of SPEC.md. Use these names, never bare string literals."""

from __future__ import annotations

# source types
FEED = "feed"
ICAL = "ical"
PAGE = "page"
HTML = "html"
JSON = "json"
CSV = "csv"
SOURCE_TYPES = (FEED, ICAL, PAGE, HTML, JSON, CSV)

# kinds
CONFERENCE = "conference"
MEETUP = "meetup"
WORKSHOP = "workshop"
WEBINAR = "webinar"
HACKATHON = "hackathon"
CAREER_FAIR = "career-fair"
NETWORKING = "networking"
MENTORSHIP = "mentorship"
CALL_FOR_SPEAKERS = "call-for-speakers"
AWARD = "award"
VOLUNTEER = "volunteer"
OTHER = "other"
KINDS = (
    CONFERENCE, MEETUP, WORKSHOP, WEBINAR, HACKATHON, CAREER_FAIR, NETWORKING,
    MENTORSHIP, CALL_FOR_SPEAKERS, AWARD, VOLUNTEER, OTHER,
)

# goals
SUPPORT = "support"
OPPORTUNITIES = "opportunities"
VISIBILITY = "visibility"
GOALS = (SUPPORT, OPPORTUNITIES, VISIBILITY)

# which goals each kind of event serves (why people network: SPEC.md)
GOALS_BY_KIND: dict[str, tuple[str, ...]] = {
    CONFERENCE: (OPPORTUNITIES,),
    MEETUP: (SUPPORT, OPPORTUNITIES),
    WORKSHOP: (SUPPORT,),
    WEBINAR: (SUPPORT,),
    HACKATHON: (OPPORTUNITIES,),
    CAREER_FAIR: (OPPORTUNITIES,),
    NETWORKING: (SUPPORT, OPPORTUNITIES),
    MENTORSHIP: (SUPPORT,),
    CALL_FOR_SPEAKERS: (VISIBILITY,),
    AWARD: (VISIBILITY,),
    VOLUNTEER: (SUPPORT, VISIBILITY),
    OTHER: (OPPORTUNITIES,),
}

# statuses
SCHEDULED = "scheduled"
CANCELLED = "cancelled"
POSTPONED = "postponed"
RESCHEDULED = "rescheduled"
MOVED_ONLINE = "moved-online"
STATUSES = (SCHEDULED, CANCELLED, POSTPONED, RESCHEDULED, MOVED_ONLINE)

# reason recorded when an upcoming event disappears from its only source
VANISHED = "vanished"

# feedback signals
LIKE = "like"
DISLIKE = "dislike"
GOING = "going"
HIDE = "hide"
FEEDBACK_SIGNALS = (LIKE, DISLIKE, GOING, HIDE)

# output formats
LIST_FORMATS = ("table", "json", "jsonl", "csv", "ics")
DIGEST_FORMATS = ("text", "markdown", "html", "json", "ics", "eml")

# digest sections, in order
SECTION_DEADLINES = "deadlines"
SECTION_SUPPORT = SUPPORT
SECTION_OPPORTUNITIES = OPPORTUNITIES
SECTION_VISIBILITY = VISIBILITY
SECTION_GROUPS = "groups"
SECTION_CHANGES = "changes"
SECTIONS = (
    SECTION_DEADLINES, SECTION_SUPPORT, SECTION_OPPORTUNITIES, SECTION_VISIBILITY,
    SECTION_GROUPS, SECTION_CHANGES,
)
SECTION_TITLES = {
    SECTION_DEADLINES: "This week's deadlines",
    SECTION_SUPPORT: "Build your support system",
    SECTION_OPPORTUNITIES: "New opportunities",
    SECTION_VISIBILITY: "Get visible",
    SECTION_GROUPS: "Groups to join",
    SECTION_CHANGES: "Changed or cancelled",
}

# exit codes
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_LOCKED = 4
