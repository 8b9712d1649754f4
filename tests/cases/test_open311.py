"""Open311 GeoReport v2: the `georeport` client against a running `citizenbot serve`,
POST over plain HTTP, the XML parsed, errors per the spec; the reporter never shown."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import requests
from georeport import GeoReport

from bot import cases

from .conftest import make_case

API_KEY = "open311-test-key"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(database_url, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "open311-test-secret",
        "OPEN311_API_KEYS": f"other-key, {API_KEY}",
        "CITIZENBOT_OUTBOX_WORKER": "0",
        "CITIZENBOT_INSTANCE_DIR": str(tmp_path / "instance"),
        "LINE_API_BASE_URL": "http://127.0.0.1:9",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stderr.close()


def test_georeport_client_reads_services_requests_and_one_request(server, db):
    now = datetime.now(UTC)
    open_number, _ = make_case(db, user="line:Usecret", at=now - timedelta(hours=1))
    closed_number, _ = make_case(db, category="streetlight", latlng=(22.63, 120.30), district="前金區")
    old_number, _ = make_case(db, at=now - timedelta(days=120), latlng=(22.64, 120.30))
    with db.session() as s:
        cases.update_case(s, closed_number, now, status="done", note="已更換燈泡")
        cases.get_case(s, open_number).contact_email = "secret@example.com"

    for fmt in ("json", "xml"):
        client = GeoReport(f"{server}/open311/v2", output_format=fmt)
        services = client.get_service_list()
        assert [s["service_code"] for s in services] == [
            "pothole",
            "streetlight",
            "traffic_signal",
            "fallen_tree",
        ]
        assert services[0]["service_name"] == "路面坑洞"
        assert client.get_service_definition("traffic_signal")["service_code"] == "traffic_signal"

        listed = client.get_service_requests()
        ids = [r["service_request_id"] for r in listed]
        assert ids == [closed_number, open_number]  # newest first; the 120-day-old one is outside 90 days
        assert old_number not in ids
        closed = client.get_service_requests(status="closed")
        closed = closed if isinstance(closed, list) else [closed]  # xmltodict: one element is no list
        assert [r["service_request_id"] for r in closed] == [closed_number]
        assert closed[0]["status_notes"].startswith("已完成")

        one = client.get_service_request(open_number)
        assert one["service_request_id"] == open_number and one["status"] == "open"
        assert one["status_notes"] == "已分派" and one["service_code"] == "pothole"
        assert one["agency_responsible"] == "工務局養護工程處四維養護工程隊"
        assert one["requested_datetime"].endswith("+08:00") and one["expected_datetime"].endswith("+08:00")
        assert datetime.fromisoformat(one["expected_datetime"]) - datetime.fromisoformat(
            one["requested_datetime"]
        ) == timedelta(hours=4)
        assert float(one["lat"]) == pytest.approx(22.62069)

    # The reporter is never exposed, in any format.
    for fmt in ("json", "xml"):
        body = requests.get(f"{server}/open311/v2/requests.{fmt}", timeout=5).text
        body += requests.get(f"{server}/open311/v2/requests/{open_number}.{fmt}", timeout=5).text
        assert "Usecret" not in body and "secret@example.com" not in body and "line:" not in body
    # A single request is a one-element list; ids are strings.
    data = requests.get(f"{server}/open311/v2/requests/{open_number}.json", timeout=5).json()
    assert isinstance(data, list) and len(data) == 1 and isinstance(data[0]["service_request_id"], str)


def test_post_over_plain_http_and_xml(server, db):
    url = f"{server}/open311/v2/requests"
    # api_key in the query string, form body otherwise.
    r = requests.post(
        f"{url}.json?api_key={API_KEY}",
        data={"service_code": "pothole", "lat": "22.6273", "long": "120.3014", "description": "<b>大坑洞</b>",
              "email": "someone@example.com", "first_name": "王"},
        timeout=10,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert len(body) == 1 and set(body[0]) == {"service_request_id", "service_notice", "account_id"}
    assert body[0]["account_id"] is None
    new_id = body[0]["service_request_id"]
    assert isinstance(new_id, str) and new_id.startswith("D")

    r = requests.post(
        f"{url}.xml",
        data={"api_key": API_KEY, "service_code": "fallen_tree", "address_string": "高雄市旗山區中山路 1 號"},
        timeout=10,
    )
    assert r.status_code == 201 and r.headers["Content-Type"].startswith("text/xml")
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(r.content)
    assert root.tag == "service_requests"
    req = root.find("request")
    xml_id = req.findtext("service_request_id")
    assert xml_id and xml_id != new_id and req.find("account_id") is not None

    # The new requests read back, XML parsed by hand.
    root = ET.fromstring(requests.get(f"{url}/{xml_id}.xml", timeout=5).content)
    assert root.tag == "service_requests" and len(root.findall("request")) == 1
    req = root.find("request")
    assert req.findtext("service_code") == "fallen_tree" and req.findtext("status") == "open"
    assert req.findtext("agency_responsible") == "工務局養護工程處旗美養護工程隊"
    assert req.findtext("zipcode") == "842"
    one = requests.get(f"{url}/{new_id}.json", timeout=5).json()[0]
    assert one["description"] == "大坑洞" and "someone" not in str(one)

    listed = ET.fromstring(requests.get(f"{url}.xml?service_code=fallen_tree", timeout=5).content)
    assert [e.findtext("service_request_id") for e in listed.findall("request")] == [xml_id]
    disc = ET.fromstring(requests.get(f"{server}/open311/v2/discovery.xml", timeout=5).content)
    assert disc.tag == "discovery"
    assert [f.text for f in disc.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]


@pytest.mark.parametrize(
    "path, data, status",
    [
        ("requests.json", {"service_code": "pothole", "lat": "22.62", "long": "120.31"}, 403),
        ("requests.json?api_key=wrong", {"service_code": "pothole", "lat": "22.62", "long": "120.31"}, 403),
        (f"requests.json?api_key={API_KEY}", {"lat": "22.62", "long": "120.31"}, 400),
        (
            f"requests.json?api_key={API_KEY}",
            {"service_code": "graffiti", "lat": "22.62", "long": "120.31"},
            400,
        ),
        (f"requests.json?api_key={API_KEY}", {"service_code": "pothole"}, 400),
        (
            f"requests.json?api_key={API_KEY}",
            {"service_code": "pothole", "lat": "25.04", "long": "121.56"},
            400,
        ),
        (
            f"requests.json?api_key={API_KEY}",
            {"service_code": "pothole", "lat": "north", "long": "120.31"},
            400,
        ),
        (f"requests.json?api_key={API_KEY}", {"service_code": "pothole", "address_string": "中正路"}, 400),
    ],
)
def test_post_errors(client, path, data, status, make_app):
    app = make_app(open311_api_keys=(API_KEY,))
    r = app.test_client().post(f"/open311/v2/{path}", data=data)
    assert r.status_code == status
    body = r.get_json()
    assert isinstance(body, list) and body[0]["code"] == status and body[0]["description"]


def test_get_errors_json_and_xml(client):
    r = client.get("/open311/v2/requests/D2026-999999.json")
    assert r.status_code == 404 and r.get_json()[0]["code"] == 404
    r = client.get("/open311/v2/requests/D2026-999999.xml")
    root = ET.fromstring(r.data)
    assert r.status_code == 404 and root.tag == "errors" and root.find("error/code").text == "404"
    assert client.get("/open311/v2/services/graffiti.json").status_code == 404
    assert client.get("/open311/v2/services.csv").status_code == 404
    assert client.get("/open311/v2/nothing/here.json").status_code == 404
    r = client.get("/open311/v2/requests.json?start_date=yesterday")
    assert r.status_code == 400 and "ISO 8601" in r.get_json()[0]["description"]
    r = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
    assert r.status_code == 400 and "90 days" in r.get_json()[0]["description"]
    r = client.get("/open311/v2/requests.json?status=pending")
    assert r.status_code == 400


def test_request_filters(client, db):
    now = datetime.now(UTC)
    a, _ = make_case(db, at=now - timedelta(days=10))
    b, _ = make_case(db, category="traffic_signal", latlng=(22.65, 120.3), district="三民區")
    start = (now - timedelta(days=11)).isoformat()
    end = (now - timedelta(days=9)).isoformat()
    r = client.get("/open311/v2/requests.json", query_string={"start_date": start, "end_date": end})
    assert [x["service_request_id"] for x in r.get_json()] == [a]
    r = client.get(
        "/open311/v2/requests.json", query_string={"service_request_id": f"{b},{a}", "status": "closed"}
    )
    assert sorted(x["service_request_id"] for x in r.get_json()) == sorted(
        [a, b]
    )  # ids override other filters
    r = client.get("/open311/v2/requests.json", query_string={"service_code": "traffic_signal"})
    assert [x["agency_responsible"] for x in r.get_json()] == ["交通局號誌故障通報專線"]


def test_contact_details_typed_into_a_description_are_not_published(client, db):
    number, _ = make_case(db)
    with db.session() as s:
        case = cases.get_case(s, number)
        case.description = "坑洞很深，有問題打給我 0912-345-678 或寫信 chen.mei@example.com，門口 12 號。"
    body = client.get(f"/open311/v2/requests/{number}.json").get_json()
    description = body[0]["description"]
    assert "0912" not in description and "example.com" not in description
    assert description.startswith("坑洞很深") and "門口 12 號" in description
