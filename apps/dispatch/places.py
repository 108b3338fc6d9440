"""Where a stranded driver is: a small built-in gazetteer of US cities, matched in what the caller said.

Deliberately coarse: a city centre is good enough to rank technicians by distance, and a table in code
needs no network call while the caller waits. Landmarks, highway exits and street addresses are not
resolved; the city they are in is.
"""

import math
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    name: str  # "Oakland, CA"
    latitude: float
    longitude: float


EARTH_RADIUS_KM = 6371.0  # mean radius; the haversine error against the ellipsoid is under 0.5 %


def distance_km(a_lat: float, a_lng: float, b_lat: float, b_lng: float) -> float:
    """Great-circle distance (haversine) between two points in degrees."""
    phi_a, phi_b = math.radians(a_lat), math.radians(b_lat)
    d_phi = phi_b - phi_a
    d_lambda = math.radians(b_lng - a_lng)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


# name | state | latitude | longitude | other names callers use (";"-separated).
# A name listed twice (Arlington, Aurora, Portland, Richmond) means the first row unless the caller
# names the state ("Aurora, IL", "Aurora, Illinois").
_GAZETTEER = """
New York       | NY | 40.7128 | -74.0060  | New York City; NYC; Manhattan
Boston         | MA | 42.3601 | -71.0589  |
Atlanta        | GA | 33.7490 | -84.3880  |
Miami          | FL | 25.7617 | -80.1918  |
Chicago        | IL | 41.8781 | -87.6298  |
Houston        | TX | 29.7604 | -95.3698  |
Dallas         | TX | 32.7767 | -96.7970  |
Minneapolis    | MN | 44.9778 | -93.2650  |
Denver         | CO | 39.7392 | -104.9903 |
Salt Lake City | UT | 40.7608 | -111.8910 | Salt Lake
Phoenix        | AZ | 33.4484 | -112.0740 |
Los Angeles    | CA | 34.0522 | -118.2437 |
Oakland        | CA | 37.8044 | -122.2712 |
Seattle        | WA | 47.6062 | -122.3321 |
Las Vegas      | NV | 36.1699 | -115.1398 |
Anchorage      | AK | 61.2181 | -149.9003 |
Honolulu       | HI | 21.3069 | -157.8583 |
San Francisco  | CA | 37.7749 | -122.4194 |
San Jose       | CA | 37.3382 | -121.8863 |
Berkeley       | CA | 37.8715 | -122.2730 |
Fremont        | CA | 37.5485 | -121.9886 |
Sacramento     | CA | 38.5816 | -121.4944 |
San Diego      | CA | 32.7157 | -117.1611 |
Portland       | OR | 45.5152 | -122.6784 |
Austin         | TX | 30.2672 | -97.7431  |
San Antonio    | TX | 29.4241 | -98.4936  |
Philadelphia   | PA | 39.9526 | -75.1652  | Philly
Washington     | DC | 38.9072 | -77.0369  | Washington DC; Washington D.C.
Baltimore      | MD | 39.2904 | -76.6122  |
Detroit        | MI | 42.3314 | -83.0458  |
Cleveland      | OH | 41.4993 | -81.6944  |
Columbus       | OH | 39.9612 | -82.9988  |
Indianapolis   | IN | 39.7684 | -86.1581  |
St. Louis      | MO | 38.6270 | -90.1994  | St Louis; Saint Louis
Kansas City    | MO | 39.0997 | -94.5786  |
Nashville      | TN | 36.1627 | -86.7816  |
Charlotte      | NC | 35.2271 | -80.8431  |
Orlando        | FL | 28.5383 | -81.3792  |
Tampa          | FL | 27.9506 | -82.4572  |
New Orleans    | LA | 29.9511 | -90.0715  |
Pittsburgh     | PA | 40.4406 | -79.9959  |
Cincinnati     | OH | 39.1031 | -84.5120  |
Milwaukee      | WI | 43.0389 | -87.9065  |
Albuquerque    | NM | 35.0844 | -106.6504 |
Tucson         | AZ | 32.2226 | -110.9747 |
El Paso        | TX | 31.7619 | -106.4850 |
Oklahoma City  | OK | 35.4676 | -97.5164  |
Omaha          | NE | 41.2565 | -95.9345  |
Boise          | ID | 43.6150 | -116.2023 |
Raleigh        | NC | 35.7796 | -78.6382  |
Richmond       | VA | 37.5407 | -77.4360  |
Buffalo        | NY | 42.8864 | -78.8784  |
Newark         | NJ | 40.7357 | -74.1724  |
Brooklyn       | NY | 40.6782 | -73.9442  |
Queens         | NY | 40.7282 | -73.7949  |
Long Beach     | CA | 33.7701 | -118.1937 |
Pasadena       | CA | 34.1478 | -118.1445 |
Santa Monica   | CA | 34.0195 | -118.4912 |
Tacoma         | WA | 47.2529 | -122.4443 |
Bellevue       | WA | 47.6101 | -122.2015 |
Mesa           | AZ | 33.4152 | -111.8315 |
Scottsdale     | AZ | 33.4942 | -111.9261 |
Fort Worth     | TX | 32.7555 | -97.3308  | Ft. Worth; Ft Worth
Arlington      | TX | 32.7357 | -97.1081  |
Aurora         | CO | 39.7294 | -104.8319 |
Boulder        | CO | 40.0150 | -105.2705 |
Arlington      | VA | 38.8816 | -77.0910  |
Aurora         | IL | 41.7606 | -88.3201  |
Portland       | ME | 43.6591 | -70.2568  |
Richmond       | CA | 37.9358 | -122.3477 |
"""

_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia",
    "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip


@dataclass(frozen=True)
class _Entry:
    name: str
    state: str
    latitude: float
    longitude: float
    names: tuple[str, ...]  # the name first, then the other names callers use

    @property
    def place(self) -> Place:
        return Place(name=f"{self.name}, {self.state}", latitude=self.latitude, longitude=self.longitude)


def _entries(text: str) -> tuple[_Entry, ...]:
    entries = []
    for line in text.strip().splitlines():
        name, state, lat, lng, aliases = (cell.strip() for cell in line.split("|"))
        others = tuple(alias.strip() for alias in aliases.split(";") if alias.strip())
        entries.append(_Entry(name, state, float(lat), float(lng), (name, *others)))
    return tuple(entries)


GAZETTEER: tuple[_Entry, ...] = _entries(_GAZETTEER)


def _name_pattern(name: str) -> str:
    # Any run of spaces between words; a word ending in "." may drop it ("St Louis" is an alias).
    return r"\s+".join(re.escape(word) for word in name.split())


# State after the city: "Oakland, CA", "Oakland CA", "Seattle, Washington", "Washington, D.C.".
# Codes are matched in capitals only, so "Miami, in the left lane" does not read as Indiana.
_QUALIFIER = re.compile(
    r",?\s*(?:(?P<code>[A-Z]{2})(?![\w])|(?P<dc>D\.\s?C\.?)|(?P<state>"
    + "|".join(_name_pattern(name) for name in sorted(_STATES.values(), key=len, reverse=True))
    + r")(?!\w))",
)
_STATE_BY_NAME = {name.lower(): code for code, name in _STATES.items()}
# "Washington state", "New York State": the state, not the city of that name.
_STATE_WORD = re.compile(r"\s+state(?!\w)", re.IGNORECASE)

# One compiled pattern per name: a whole-word, case-insensitive match, so "West Oakland" finds Oakland
# and "Mesa" does not match "Mesabi".
_PATTERNS: tuple[tuple[re.Pattern[str], _Entry], ...] = tuple(
    (re.compile(rf"(?<!\w){_name_pattern(name)}(?!\w)", re.IGNORECASE), entry)
    for entry in GAZETTEER
    for name in entry.names
)


def _state_after(text: str, end: int) -> str | None:
    found = _QUALIFIER.match(text, end)
    if found is None:
        return None
    if found["code"]:
        return found["code"] if found["code"] in _STATES else None
    if found["dc"]:
        return "DC"
    return _STATE_BY_NAME[" ".join(found["state"].lower().split())]


_STREET_AFTER = re.compile(
    r"\s+(?:street|st\b|avenue|ave\b|boulevard|blvd\b|road|rd\b|drive|dr\b|lane|ln\b|way|place|court|parkway|pkwy)",
    re.IGNORECASE,
)


def _match(text: str) -> _Entry | None:
    """The best city named in the text: one with a matching state first, then the longest name, then the first."""
    best: tuple[int, int, int, int] | None = None
    chosen: _Entry | None = None
    for order, (pattern, entry) in enumerate(_PATTERNS):
        for found in pattern.finditer(text):
            if found[0].lower() in _STATE_BY_NAME and _STATE_WORD.match(text, found.end()):
                continue
            if _STREET_AFTER.match(text, found.end()):
                continue  # "Washington Boulevard" is a street, not the city
            qualified = _state_after(text, found.end()) == entry.state
            # Rank: a state that confirms the city, then the longer name, then earlier in the text,
            # then the table's order (which puts the larger of two same-named cities first).
            key = (int(qualified), found.end() - found.start(), -found.start(), -order)
            if best is None or key > best:
                best, chosen = key, entry
    return chosen


def locate(text: str, *, fallback: str | None = None) -> Place | None:
    """The city in what the caller said, else the city in `fallback` (their address on file), else None."""
    for candidate in (text, fallback):
        if candidate:
            entry = _match(candidate)
            if entry is not None:
                return entry.place
    return None
