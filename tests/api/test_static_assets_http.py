"""The pages' static files: addressed by content hash, cached for a year, gzip-compressed."""

import gzip
import re

import pytest
from flask import url_for

from marshrut.ui.assets import STATIC, VENDOR_FILES


@pytest.mark.parametrize("endpoint, values", [("ui.static", {"filename": "marshrut.css"}),
                                              ("vendor.asset", {"path": "chart.js/dist/chart.umd.js"})])
def test_a_static_url_carries_the_content_hash_and_is_cached_for_a_year_compressed(app, client, endpoint, values):
    with app.test_request_context():
        url = url_for(endpoint, **values)
    assert re.search(r"[?&]v=[0-9a-f]{12}$", url), url
    plain = client.get(url, buffered=True)
    assert plain.status_code == 200 and "immutable" in plain.headers["Cache-Control"]
    zipped = client.get(url, headers={"Accept-Encoding": "gzip, br"}, buffered=True)
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data) / 2


def test_a_url_with_another_hash_is_not_cached_for_long(client):
    answer = client.get("/ui/static/marshrut.css?v=000000000000", buffered=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-cache"


def test_only_the_listed_package_files_are_served_and_all_of_them_were_built(client):
    assert client.get("/vendor/chart.js/package.json").status_code == 404
    assert client.get("/vendor/../../pyproject.toml").status_code == 404
    for path in VENDOR_FILES:
        assert (STATIC / "build" / "vendor" / path).is_file(), f"npm run build did not copy {path}"
