"""Nearest sites across the city: distance order, open ones first, outside Kaohsiung."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import legal
from data import in_kaohsiung


def taipei(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=legal.TZ).astimezone(UTC)


SUNDAY = taipei(2026, 12, 6, 11)  # nothing is open: pure distance


@pytest.mark.parametrize(
    "name, lat, lng, first",
    [
        ("四維行政中心旁", 22.6215, 120.3125, "siwei"),
        ("鳳山火車站", 22.6268, 120.3563, "fengshan"),
        ("岡山火車站", 22.7917, 120.3003, "gangshan"),
        ("旗山老街", 22.8880, 120.4830, "qishan"),
        ("美濃", 22.8980, 120.5420, "qishan"),
        ("林園", 22.5070, 120.3920, "linyuan"),
        ("旗津海水浴場", 22.6080, 120.2690, "cijin"),
        ("夢時代", 22.5950, 120.3070, "qianzhen"),
        ("高雄火車站", 22.6390, 120.3020, "newimmigrants"),
        ("路竹", 22.8560, 120.2610, "gangshan"),
        ("小港機場", 22.5710, 120.3450, "qianzhen"),
    ],
)
def test_nearest_site_across_the_city(db, name, lat, lng, first):
    assert in_kaohsiung(lat, lng), name
    with db.session() as s:
        rows = legal.nearest(s, lat, lng, SUNDAY)
    assert rows[0].site.id == first, (name, [(r.site.id, round(r.km, 1)) for r in rows])
    assert [r.km for r in rows] == sorted(r.km for r in rows)  # nobody open: distance only


def test_open_sites_come_first_when_near_enough(db):
    near_station = (22.6330, 120.3030)  # by the 新住民會館, 2 km from 四維
    with db.session() as s:
        # Monday morning: the 新住民會館 is closed, 四維 is open now.
        monday = legal.nearest(s, *near_station, taipei(2026, 11, 30, 10))
        assert [r.site.id for r in monday[:2]] == ["siwei", "newimmigrants"]
        assert monday[0].status == "open_now" and "開放中" in monday[0].note
        # The last Saturday of the month: the 新住民會館 is open and nearest.
        saturday = legal.nearest(s, *near_station, taipei(2026, 11, 28, 10, 30))
        assert saturday[0].site.id == "newimmigrants" and saturday[0].status == "open_now"
        # An open site far away does not jump ahead of a near one (旗山 from 四維: 30 km).
        tuesday = legal.nearest(s, 22.6215, 120.3125, taipei(2026, 12, 1, 15))
        assert tuesday[0].site.id == "siwei"


def test_later_today_ranks_before_closed(db):
    # Monday 10:00 in 鳳山: 鳳山區公所 opens at 14:00 (later today), 林園 is open now but far.
    with db.session() as s:
        rows = legal.nearest(s, 22.6268, 120.3563, taipei(2026, 11, 30, 10))
    assert rows[0].site.id in ("siwei", "fengshan")
    by_id = {r.site.id: r for r in rows}
    assert by_id["fengshan"].status == "later_today" and "14:00" in by_id["fengshan"].note
