"""Equality-based label selectors, as ``?labelSelector=`` reads them."""

import sys
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi.api_errors import ApiError  # noqa: E402
from kubeapi.selectors import Requirement, parse_label_selector, select  # noqa: E402

ITEMS = [
    {"metadata": {"name": "a", "labels": {"app": "loft", "tier": "web"}}},
    {"metadata": {"name": "b", "labels": {"app": "loft"}}},
    {"metadata": {"name": "c", "labels": {"app": "other", "example.com/owner": "me"}}},
    {"metadata": {"name": "d"}},
]


def selected(selector: str) -> list[str]:
    return [item["metadata"]["name"] for item in select(ITEMS, selector)]


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("", ["a", "b", "c", "d"]),
        ("app=loft", ["a", "b"]),
        ("app==loft", ["a", "b"]),
        ("app!=loft", ["c", "d"]),
        ("tier", ["a"]),
        ("!tier", ["b", "c", "d"]),
        ("app=loft,tier=web", ["a"]),
        ("app=loft, !tier", ["b"]),
        ("example.com/owner=me", ["c"]),
        ("app=", []),
        ("app=nothing", []),
    ],
)
def test_a_selector_keeps_the_items_meeting_every_term(selector, names):
    assert selected(selector) == names


def test_terms_are_parsed_into_requirements():
    assert parse_label_selector("app=loft,tier!=db,zone,!legacy") == [
        Requirement("app", "=", "loft"),
        Requirement("tier", "!=", "db"),
        Requirement("zone", "exists"),
        Requirement("legacy", "!exists"),
    ]


@pytest.mark.parametrize(
    ("selector", "reason"),
    [
        ("app in (loft)", "set-based selectors are not supported"),
        ("app notin (loft)", "set-based selectors are not supported"),
        ("app=(loft)", "set-based selectors are not supported"),
        ("=loft", "invalid label selector term: =loft"),
        ("app=lo ft", "invalid label selector term"),
        ("-app", "invalid label selector term"),
    ],
)
def test_a_selector_that_cannot_be_read_is_a_bad_request(selector, reason):
    with pytest.raises(ApiError) as caught:
        select(ITEMS, selector)
    assert caught.value.code == 400
    assert reason in caught.value.body["message"]
