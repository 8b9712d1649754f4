"""One geography for every service: which points are in Kaohsiung, and in which district."""

from __future__ import annotations

import pytest

import data


@pytest.mark.parametrize("district", data.districts(), ids=lambda d: d.name)
def test_every_district_centre_is_in_its_district(district):
    assert data.nearest_district(district.lat, district.lng) == district


@pytest.mark.parametrize(
    ("place", "lat", "lng"),
    [
        ("臺南車站", 22.997, 120.213),
        ("臺南仁德", 22.972, 120.252),
        ("屏東市", 22.673, 120.488),
        ("屏東萬丹", 22.589, 120.486),
        ("臺北市政府", 25.0375, 121.5637),
        ("台灣海峽", 22.60, 119.80),
    ],
)
def test_neighbouring_cities_are_outside(place, lat, lng):
    assert data.nearest_district(lat, lng) is None, place
    assert not data.in_kaohsiung(lat, lng)


@pytest.mark.parametrize(
    ("place", "lat", "lng", "district"),
    [
        ("高雄車站", 22.639, 120.302, "新興區"),
        ("鳳山區公所", 22.627, 120.357, "鳳山區"),
        ("佛光山", 22.750, 120.440, "大樹區"),
        ("茄萣北端", 22.920, 120.180, "茄萣區"),
        ("林園東緣", 22.500, 120.420, "林園區"),
        ("那瑪夏", 23.260, 120.700, "那瑪夏區"),
    ],
)
def test_places_near_the_border_stay_inside(place, lat, lng, district):
    found = data.nearest_district(lat, lng)
    assert found is not None and found.name == district, place


def test_an_address_naming_another_city_wins_over_the_point():
    assert not data.in_kaohsiung(22.62, 120.31, "台南市東區大學路1號")
    assert data.in_kaohsiung(22.62, 120.31, "高雄市苓雅區四維三路2號")
    assert data.in_kaohsiung(22.62, 120.31, None)


@pytest.mark.parametrize(
    "lat, lng",
    [(25.0330, 121.5654), (24.1477, 120.6736), (23.4800, 120.4490), (22.0, 120.7), (0.0, 0.0)],
)
def test_far_places_are_outside(lat, lng):
    assert not data.in_kaohsiung(lat, lng)


def test_haversine_known_distance():
    # 四維行政中心 to 鳳山行政中心 is about 3.3 km.
    km = data.distance_km(22.6208359, 120.3120159, 22.629705, 120.343804)
    assert 3.2 < km < 3.5
