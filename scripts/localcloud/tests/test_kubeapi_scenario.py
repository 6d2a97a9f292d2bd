"""The scenario schema: defaults, merging, and a clear error for each bad value."""

import sys
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi.scenario import (  # noqa: E402
    ScenarioError,
    complete_scenario,
    default_scenario,
    patched_scenario,
)


def complete(given):
    return complete_scenario(given, "kt-eu-west-1", "eu-west-1")


def test_an_empty_scenario_is_the_default_one():
    scenario = complete({})
    assert scenario == default_scenario("kt-eu-west-1", "eu-west-1")
    assert scenario["kubernetes_version"] == "1.31"
    assert scenario["deployment"] == {
        "exists": True,
        "replicas": 3,
        "paused": False,
        "image": "ghcr.io/loft-sh/vcluster-platform:4.8.0",
    }
    assert (
        scenario["ingress"]["hostname"] == "k8s-vclusterplatform-loft-1234567890.eu-west-1.elb.amazonaws.com"
    )
    assert scenario["peers"] == [{"name": "kt-eu-west-1-peer-1", "online": True, "homeDerpRegion": 900}]


def test_given_keys_merge_into_the_defaults():
    scenario = complete({"deployment": {"replicas": 0}, "after_restart": ["crashloop", "ready"]})
    assert scenario["deployment"]["replicas"] == 0
    assert scenario["deployment"]["image"] == "ghcr.io/loft-sh/vcluster-platform:4.8.0"
    assert scenario["after_restart"] == ["crashloop", "ready"]


def test_peers_replace_the_default_list_and_get_defaults_of_their_own():
    scenario = complete(
        {"peers": [{"name": "a"}, {"name": "b", "online": False, "lastSeen": "2026-01-01T00:00:00Z"}]}
    )
    assert scenario["peers"] == [
        {"name": "a", "online": True, "homeDerpRegion": 900},
        {"name": "b", "online": False, "lastSeen": "2026-01-01T00:00:00Z", "homeDerpRegion": 900},
    ]


def test_completing_does_not_change_what_was_given():
    given = {"peers": [{"name": "a"}], "deployment": {"replicas": 1}}
    complete(given)
    assert given == {"peers": [{"name": "a"}], "deployment": {"replicas": 1}}


def test_a_patch_merges_into_the_current_scenario_and_replaces_peers():
    current = complete({"pods": "crashloop", "peers": [{"name": "a"}, {"name": "b"}]})
    patched = patched_scenario(
        current, {"deployment": {"paused": True}, "peers": [{"name": "c"}]}, "kt", "eu-west-1"
    )
    assert patched["pods"] == "crashloop"
    assert patched["deployment"]["paused"] is True
    assert [p["name"] for p in patched["peers"]] == ["c"]


def test_a_null_in_a_patch_falls_back_to_the_default():
    current = complete({"pods": "crashloop", "peers": []})
    patched = patched_scenario(current, {"pods": None, "peers": None}, "kt-eu-west-1", "eu-west-1")
    assert patched["pods"] == "ready"
    assert [p["name"] for p in patched["peers"]] == ["kt-eu-west-1-peer-1"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ([], "a scenario is a JSON object"),
        ({"pod": "ready"}, "unknown scenario keys: pod"),
        ({"cluster_status": "BROKEN"}, "cluster_status: one of CREATING, ACTIVE"),
        ({"kubernetes_version": "1.31.4"}, 'kubernetes_version: a string "MAJOR.MINOR" of digits'),
        ({"kubernetes_version": 1.3}, 'kubernetes_version: a string "MAJOR.MINOR" of digits'),
        ({"kubernetes_version": "v1.31"}, 'kubernetes_version: a string "MAJOR.MINOR" of digits'),
        ({"deployment": "gone"}, "deployment: an object"),
        ({"deployment": {"replica": 1}}, "deployment: unknown keys replica"),
        ({"deployment": {"exists": "no"}}, "deployment.exists: true or false"),
        ({"deployment": {"replicas": -1}}, "deployment.replicas: an integer >= 0"),
        ({"deployment": {"replicas": True}}, "deployment.replicas: an integer >= 0"),
        ({"deployment": {"paused": 1}}, "deployment.paused: true or false"),
        ({"deployment": {"image": ""}}, "deployment.image: a non-empty string"),
        ({"pods": "sleepy"}, "pods: one of ready, crashloop"),
        ({"after_restart": []}, "after_restart: one of"),
        ({"after_restart": ["ready", "sleepy"]}, "after_restart: one of"),
        ({"nodes": {"ready": 1, "broken": 1}}, "nodes: "),
        ({"nodes": {"ready": 201}}, "nodes.ready: an integer 0..200"),
        ({"ingress": {"exists": True, "host": "x"}}, "ingress: "),
        ({"ingress": {"exists": "yes"}}, "ingress.exists: true or false"),
        ({"ingress": {"hostname": None}}, "ingress.hostname: a string"),
        ({"peers": {"name": "a"}}, "peers: a list"),
        ({"peers": [{"name": "a", "colour": "red"}]}, "peers[0]: an object with"),
        ({"peers": [{"name": "Not_DNS"}]}, "peers[0].name: a DNS-1123 name"),
        ({"peers": [{"name": "a"}, {"name": "a"}]}, "peers[1].name: a appears twice"),
        ({"peers": [{"name": "a", "online": "yes"}]}, "peers[0].online: true or false"),
        ({"peers": [{"name": "a", "homeDerpRegion": "900"}]}, "peers[0].homeDerpRegion: an integer"),
        ({"peers": [{"name": "a", "lastSeen": "yesterday"}]}, "peers[0].lastSeen: RFC 3339 UTC"),
    ],
)
def test_a_bad_value_is_named(given, message):
    with pytest.raises(ScenarioError) as caught:
        complete(given)
    assert str(caught.value).startswith(message)


def test_a_patch_must_be_an_object():
    with pytest.raises(ScenarioError, match="a scenario patch is a JSON object"):
        patched_scenario(complete({}), ["pods"], "kt", "eu-west-1")


@pytest.mark.parametrize("version", ["1.31", "1.0", "1.100", "2.3"])
def test_a_kubernetes_version_is_major_dot_minor(version):
    assert complete({"kubernetes_version": version})["kubernetes_version"] == version
