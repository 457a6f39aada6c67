"""Kinds, goals and industries for an event, from its own words and its source's hints."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aggregator import constants as C
from aggregator.config_types import Industry

# kind_text values (schema.org types, feed categories, API categories) -> kind
_KIND_TEXT = [
    (r"career|job|recruit|hiring|employ", C.CAREER_FAIR),
    (r"hackathon|hack ?day|datathon|game ?jam", C.HACKATHON),
    (r"call for (speakers|papers|proposals)|cfp|cfs", C.CALL_FOR_SPEAKERS),
    (r"award|prize|premio|preis", C.AWARD),
    (r"volunteer|voluntari", C.VOLUNTEER),
    (r"mentor", C.MENTORSHIP),
    (r"webinar|online ?talk|livestream|webcast", C.WEBINAR),
    (r"workshop|training|course|class|bootcamp|taller|masterclass|tutorial|educationevent", C.WORKSHOP),
    (r"conference|summit|congress|symposium|convention|expo|forum|congreso|conferencia|konferenz|"
     r"conferenceevent|festival|trade ?show", C.CONFERENCE),
    (r"meetup|meet-up|user group|usergroup|encuentro|stammtisch", C.MEETUP),
    (r"network|mixer|socialevent|social|happy hour|breakfast|drinks|businessevent", C.NETWORKING),
]
_KIND_TEXT_RE = [(re.compile(p, re.I), k) for p, k in _KIND_TEXT]

# words in a title (checked first) or description -> kind
_KIND_WORDS = [
    (r"\bcall for (speakers|papers|proposals|talks)\b|\bcfp\b|\bspeak at\b|\bsubmit (a|your) talk\b",
     C.CALL_FOR_SPEAKERS),
    (r"\b(career|job|jobs|hiring|recruit\w*|employer)s? (fair|expo|day|night|event)\b|\bjob fair\b|"
     r"\bferia de empleo\b|\bbanenmarkt\b|\bjobmesse\b|\bcareer fair\b", C.CAREER_FAIR),
    (r"\bhack(athon|day| day| night)\b|\bdatathon\b|\bgame jam\b|\bbuildathon\b", C.HACKATHON),
    (r"\bawards?\b|\bnominations?\b|\bprize\b|\bpremios?\b|\bpreis\b", C.AWARD),
    (r"\bvolunteer\w*\b|\bvoluntari\w*\b", C.VOLUNTEER),
    (r"\bmentor\w*\b|\bmentoría\b|\bcoaching circle\b|\boffice hours\b", C.MENTORSHIP),
    (r"\bwebinar\b|\bwebcast\b|\bonline talk\b|\bseminario web\b", C.WEBINAR),
    (r"\bmixer\b|\bnetworking\b|\b(pitch|demo) night\b|\bshowcase\b|\bhappy hour\b|\bdialog(ue)?\b|"
     r"\bdialog\w+\b", C.NETWORKING),
    (r"\bworkshop\b|\bhands-on\b|\btraining\b|\bbootcamp\b|\bmasterclass\b|\btutorial\b|\bclinic\b|"
     r"\btaller\b|\bcursus\b|\bkurs\b|\blab\b|\bcourse\b|\binstitute\b|\bintensive\b|"
     r"\bbootcamp\b|\bacademy\b", C.WORKSHOP),
    (r"\bconf(erence)?\b|\bsummit\b|\bcongress\b|\bsymposium\b|\bcon \d{4}\b|\bexpo\b|\bforum\b|"
     r"\bcongreso\b|\bconferencia\b|\bkonferenz\b|\bcongres\b|\bconvention\b|\bfestival\b|"
     r"\bjornadas?\b|\bweek\b|\bdays?\s+\d{4}\b|\bpycon\b|\w+conf\b|"
     r"(?<!open )\bday\b(?! of)|\bcumbre\b", C.CONFERENCE),
    (r"\bmeetup\b|\bmeet-up\b|\buser group\b|\bencuentro\b|\bstammtisch\b|\bmeet ?&? ?greet\b|"
     r"\bbijeenkomst\b|\btreffen\b|\bmonthly\b|\bnight\b|\blightning talks\b|\bbook club\b|"
     r"\bcircle\b|\bcommunity call\b", C.MEETUP),
    (r"\bnetworking\b|\bmixer\b|\bhappy hour\b|\bbreakfast\b|\bdrinks\b|\bsocial\b|\bmeet the\b|"
     r"\blunch\b|\bluncheon\b|\broundtable\b|\breception\b|\bopen day\b|\bopen house\b|\bevening\b|"
     r"\bafterwork\b|\bborrel\b|\bpitch night\b", C.NETWORKING),
]
_KIND_WORDS_RE = [(re.compile(p, re.I), k) for p, k in _KIND_WORDS]



# schema.org types and feed categories that say little about the kind: used only when the title
# and the source say nothing
_GENERIC_KIND_TEXT = re.compile(
    r"^(https?://schema\.org/)?(event|businessevent|socialevent|educationevent|eventseries|"
    r"communityevent|other|general|misc\w*)$", re.I)
# in a description only these kinds are named reliably (volunteers, awards and nominations are
# often mentioned in passing)
_DESCRIPTION_KINDS = {C.WEBINAR, C.WORKSHOP, C.HACKATHON, C.CAREER_FAIR, C.CONFERENCE, C.MEETUP}


def _first_kind(text: str, allowed: set[str] | None = None) -> str | None:
    for rx, kind in _KIND_WORDS_RE:
        if (allowed is None or kind in allowed) and rx.search(text):
            return kind
    return None


def kinds_for(title: str, description: str | None, kind_text: str | None,
              known: Iterable[str] = (), has_cfp: bool = False, *, online: bool = False,
              hybrid: bool = False, group: str | None = None) -> list[str]:
    """Kinds from (in order) what the source states, the title, the group it comes from, a generic
    source type, the description; an online session that is none of these is a webinar."""
    kinds = [k for k in known if k in C.KINDS]
    generic = None
    if not kinds and kind_text:
        if _GENERIC_KIND_TEXT.match(kind_text.strip()):
            generic = next((k for rx, k in _KIND_TEXT_RE if rx.search(kind_text)), None)
        else:
            kinds.extend(k for rx, k in _KIND_TEXT_RE[:] if rx.search(kind_text))
            kinds = kinds[:1]
    if not kinds:
        kind = _first_kind(title)
        if kind is None and group:
            kind = C.MEETUP
        if kind is None and generic is None:
            kind = _first_kind((description or "")[:600], _DESCRIPTION_KINDS)
        kind = kind or generic
        if kind:
            kinds.append(kind)
    if online and not hybrid and (not kinds or kinds[0] in (C.MEETUP, C.NETWORKING, C.OTHER)):
        kinds = [C.WEBINAR]
    if has_cfp and C.CALL_FOR_SPEAKERS not in kinds and C.AWARD not in kinds:
        kinds.append(C.CALL_FOR_SPEAKERS)
    if not kinds:
        kinds.append(C.OTHER)
    return list(dict.fromkeys(kinds))


def goals_for(kinds: Iterable[str]) -> list[str]:
    goals: list[str] = []
    for kind in kinds:
        goals.extend(C.GOALS_BY_KIND.get(kind, ()))
    return [g for g in C.GOALS if g in goals]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


_TOKEN = re.compile(r"[\w-]+")


@dataclass
class _IndustryMatcher:
    """Per industry: the regex of its words, and the first token of each word (a text without
    any of those tokens cannot match, so its regex is not run)."""

    patterns: list[tuple[str, re.Pattern[str], frozenset[str]]]


_MATCHERS: dict[int, tuple[Mapping[str, Industry], _IndustryMatcher]] = {}


def _matcher(taxonomy: Mapping[str, Industry]) -> _IndustryMatcher:
    cached = _MATCHERS.get(id(taxonomy))
    if cached is not None and cached[0] is taxonomy:
        return cached[1]
    patterns = []
    for slug, ind in sorted(taxonomy.items()):
        words = {_fold(w) for w in [*ind.keywords, *ind.synonyms, ind.label] if w.strip()}
        alts = sorted((re.escape(w) for w in words), key=len, reverse=True)
        firsts = frozenset(t[0] for t in (_TOKEN.findall(w) for w in words) if t)
        if alts:
            rx = re.compile(r"(?<![\w-])(" + "|".join(alts) + r")(?![\w-])")
            patterns.append((slug, rx, firsts))
    matcher = _IndustryMatcher(patterns)
    _MATCHERS[id(taxonomy)] = (taxonomy, matcher)
    return matcher


def _twice(rx: re.Pattern[str], text: str) -> bool:
    """``len(rx.findall(text)) >= 2``, stopping at the second match."""
    matches = rx.finditer(text)
    return next(matches, None) is not None and next(matches, None) is not None


def industries_for(title: str, description: str | None, tags: Iterable[str],
                   taxonomy: Mapping[str, Industry], hints: Iterable[str] = ()) -> list[str]:
    """Industries whose keywords the title or tags name (two hits in the description also count),
    plus the source's hints and every parent of what was found."""
    head = _fold(" ".join([title, *tags]))
    body = _fold((description or "")[:3000])
    head_tokens, body_tokens = set(_TOKEN.findall(head)), set(_TOKEN.findall(body))
    found = [h for h in hints if h in taxonomy]
    for slug, rx, firsts in _matcher(taxonomy).patterns:
        if (not firsts.isdisjoint(head_tokens) and rx.search(head)) or (
                not firsts.isdisjoint(body_tokens) and _twice(rx, body)):
            found.append(slug)
    result = list(dict.fromkeys(found))
    for slug in list(result):
        parent = taxonomy[slug].parent
        while parent and parent in taxonomy and parent not in result:
            result.append(parent)
            parent = taxonomy[parent].parent
    return result
