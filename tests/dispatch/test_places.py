import math

import pytest

from apps.demo import data
from apps.dispatch.places import GAZETTEER, Place, distance_km, locate


def test_distance_oakland_to_san_francisco():
    assert distance_km(37.8044, -122.2712, 37.7749, -122.4194) == pytest.approx(13.4, abs=1)


def test_distance_new_york_to_los_angeles():
    assert distance_km(40.7128, -74.0060, 34.0522, -118.2437) == pytest.approx(3936, abs=20)


def test_distance_along_a_meridian_is_the_arc():
    # One degree of latitude on a 6371 km sphere.
    assert distance_km(37.0, -122.0, 38.0, -122.0) == pytest.approx(6371.0 * math.pi / 180, abs=1e-9)
    assert distance_km(38.0, -122.0, 37.0, -122.0) == pytest.approx(111.19492664455873, abs=1e-9)


def test_distance_to_itself_and_antipode():
    assert distance_km(47.6062, -122.3321, 47.6062, -122.3321) == 0.0
    assert distance_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(6371.0 * math.pi, abs=1e-6)


def test_locate_finds_the_city_in_a_sentence():
    assert locate("I-880 near the Coliseum exit in Oakland") == Place("Oakland, CA", 37.8044, -122.2712)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("West Oakland, by the BART station", "Oakland, CA"),
        ("i'm stuck in salt lake city on I-15", "Salt Lake City, UT"),
        ("SAN FRANCISCO", "San Francisco, CA"),
        ("out by st louis", "St. Louis, MO"),
        ("on the way to Saint Louis", "St. Louis, MO"),
        ("somewhere in NYC", "New York, NY"),
        ("Ft. Worth, off I-30", "Fort Worth, TX"),
        ("Washington D.C., on the beltway", "Washington, DC"),
    ],
)
def test_locate_matches_names_whole_word_and_case_insensitively(text, name):
    assert locate(text).name == name


def test_locate_longest_name_wins():
    assert locate("I left Mesa this morning, now near Salt Lake City").name == "Salt Lake City, UT"
    assert locate("between Queens and New York City").name == "New York, NY"


def test_locate_first_named_wins_between_equal_lengths():
    assert locate("Tampa or maybe Omaha").name == "Tampa, FL"


@pytest.mark.parametrize("text", ["Mesabi Range", "a Bostonian abroad", "somewhere dark", "", "Atlantis"])
def test_locate_returns_none_without_a_whole_word_match(text):
    assert locate(text) is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Aurora", "Aurora, CO"),
        ("Aurora, IL", "Aurora, IL"),
        ("Aurora Illinois", "Aurora, IL"),
        ("Arlington", "Arlington, TX"),
        ("Arlington, VA near the Pentagon", "Arlington, VA"),
        ("Portland", "Portland, OR"),
        ("Portland, Maine", "Portland, ME"),
        ("Richmond, CA", "Richmond, CA"),
        ("Richmond", "Richmond, VA"),
        # A state that names the city beats a longer name elsewhere ("Washington" is also a city).
        ("Seattle, Washington", "Seattle, WA"),
        ("Brooklyn, New York", "Brooklyn, NY"),
        ("Washington, DC", "Washington, DC"),
        ("Oakland CA", "Oakland, CA"),
        # State codes count only in capitals: "in" here is not Indiana, and nothing is disqualified by it.
        ("Miami, in the left lane", "Miami, FL"),
        # A state that does not fit is ignored, not trusted: the city is still the best guess.
        ("Dallas, OK so I'm on I-35", "Dallas, TX"),
    ],
)
def test_locate_city_comma_state(text, name):
    assert locate(text).name == name


def test_locate_washington_state_is_not_the_city():
    assert locate("on I-5 in Washington state") is None
    assert locate("upstate in New York State") is None


def test_locate_uses_the_fallback_when_the_text_names_no_city():
    assert locate("on the highway by the big red barn", fallback="Denver") == Place("Denver, CO", 39.7392, -104.9903)


def test_locate_prefers_the_text_over_the_fallback():
    assert locate("stuck in Boulder", fallback="Denver").name == "Boulder, CO"


def test_locate_returns_none_when_neither_matches():
    assert locate("on the highway", fallback="Springfield") is None
    assert locate("on the highway", fallback=None) is None
    assert locate("on the highway", fallback="") is None


def test_gazetteer_has_every_us_demo_city_at_the_same_coordinates():
    for key, city in data.CITIES.items():
        if city.country != "US":
            continue
        place = locate(city.name)
        assert place == Place(f"{city.name}, {city.region}", city.lat, city.lng), key


def test_gazetteer_rows_are_valid_and_unique():
    assert len(GAZETTEER) >= 60
    assert len({(entry.name, entry.state) for entry in GAZETTEER}) == len(GAZETTEER)
    for entry in GAZETTEER:
        assert 18 < entry.latitude < 72, entry
        assert -170 < entry.longitude < -66, entry


def test_a_street_named_after_a_city_is_not_that_city():
    assert locate("I'm on Washington Boulevard in Chicago").name == "Chicago, IL"
