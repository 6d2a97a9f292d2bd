"""The deployment controller a test plays: what a restart, a scale, a pause and
an admin scenario change do to the deployment, its pods and its status."""

import json
import sys
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi import routes  # noqa: E402
from kubeapi.chart import RESTARTED_AT, REVISION  # noqa: E402
from kubeapi.controller import ClusterState  # noqa: E402
from kubeapi.scenario import complete_scenario, patched_scenario  # noqa: E402
from kubeapi.status import max_unavailable  # noqa: E402

DEPLOYMENT = "/apis/apps/v1/namespaces/vcluster-platform/deployments/loft"


def cluster(**scenario) -> ClusterState:
    state = ClusterState("kt-us-east-1", "us-east-1")
    state.apply_scenario(complete_scenario(scenario, state.name, state.region), replace=True)
    return state


def merge_patch(state: ClusterState, path: str, body: dict) -> dict:
    request = routes.Request("PATCH", path, {}, routes.MERGE_PATCH, json.dumps(body).encode())
    code, answer = routes.handle(state, request)
    assert code == 200
    return answer


def restart(state: ClusterState, at: str = "2026-11-22T10:00:00Z") -> dict:
    """What the adapter's ``restart`` sends, as ``kubectl rollout restart`` does."""
    return merge_patch(
        state, DEPLOYMENT, {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}}
    )


def scale(state: ClusterState, replicas: int) -> dict:
    """What the adapter's ``scale`` sends (``patch_scale``)."""
    return merge_patch(state, DEPLOYMENT + "/scale", {"spec": {"replicas": replicas}})


def change(state: ClusterState, **patch) -> None:
    """An admin ``PATCH /clusters/{name}/scenario``."""
    state.apply_scenario(patched_scenario(state.scenario, patch, state.name, state.region), replace=False)


def names(state: ClusterState) -> list[str]:
    return [pod["name"] for pod in state.pods]


def modes(state: ClusterState) -> list[str]:
    return [pod["mode"] for pod in state.pods]


def conditions(state: ClusterState) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in state.status["conditions"]}


def test_a_fresh_cluster_runs_three_ready_pods_of_revision_one():
    state = cluster()
    assert modes(state) == ["ready"] * 3
    assert len(set(names(state))) == 3
    assert all(name.startswith(f"loft-{state.rs_hash}-") for name in names(state))
    assert state.deployment["metadata"]["generation"] == 1
    assert state.deployment["metadata"]["annotations"][REVISION] == "1"
    assert state.rollouts == 0
    assert state.status["observedGeneration"] == 1
    assert state.status["readyReplicas"] == 3


def test_a_restart_replaces_every_pod_with_a_new_revision():
    state = cluster(pods="crashloop", after_restart="ready")
    before_names, before_hash = names(state), state.rs_hash
    answer = restart(state)
    assert answer["kind"] == "Deployment"
    assert state.rs_hash != before_hash
    assert not set(names(state)) & set(before_names)
    assert all(pod["labels"]["pod-template-hash"] == state.rs_hash for pod in state.pods)
    assert modes(state) == ["ready"] * 3
    assert state.scenario["pods"] == "ready"
    assert state.rollouts == 1
    meta = state.deployment["metadata"]
    assert (meta["generation"], meta["annotations"][REVISION]) == (2, "2")
    assert state.deployment["spec"]["template"]["metadata"]["annotations"] == {
        RESTARTED_AT: "2026-11-22T10:00:00Z"
    }
    # The status follows at once: the rollout is observed and complete.
    assert answer["status"]["observedGeneration"] == 2
    assert answer["status"]["updatedReplicas"] == 3
    assert answer["status"]["readyReplicas"] == 3
    assert conditions(state)["Progressing"] == ("True", "NewReplicaSetAvailable")


def test_the_same_restart_stamp_twice_rolls_out_once():
    state = cluster()
    restart(state, "2026-11-22T10:00:00Z")
    after_first = names(state)
    restart(state, "2026-11-22T10:00:00Z")
    assert names(state) == after_first
    assert state.rollouts == 1
    assert state.deployment["metadata"]["generation"] == 2


def test_after_restart_modes_are_used_one_per_action_and_the_last_sticks():
    state = cluster(pods="crashloop", after_restart=["crashloop", "imagepull", "ready"])
    seen = []
    for minute in range(4):
        restart(state, f"2026-11-22T10:0{minute}:00Z")
        seen.append(modes(state))
    assert seen == [["crashloop"] * 3, ["imagepull"] * 3, ["ready"] * 3, ["ready"] * 3]
    assert state.rollouts == 4


def test_pods_that_keep_crashing_after_a_restart_leave_the_rollout_failed():
    state = cluster(pods="crashloop", after_restart="crashloop")
    answer = restart(state)
    status = answer["status"]
    assert "readyReplicas" not in status and "availableReplicas" not in status
    assert status["unavailableReplicas"] == 3
    assert status["updatedReplicas"] == 3
    assert conditions(state) == {
        "Available": ("False", "MinimumReplicasUnavailable"),
        "Progressing": ("False", "ProgressDeadlineExceeded"),
    }


def test_a_scale_from_zero_creates_the_wanted_pods_in_the_after_restart_mode():
    state = cluster(deployment={"replicas": 0}, after_restart=["ready"])
    assert state.pods == []
    answer = scale(state, 3)
    assert answer["kind"] == "Scale"
    assert answer["spec"] == {"replicas": 3}
    assert answer["status"]["replicas"] == 3
    assert modes(state) == ["ready"] * 3
    assert state.scenario["deployment"]["replicas"] == 3
    assert state.deployment["spec"]["replicas"] == 3
    assert state.deployment["metadata"]["generation"] == 2
    assert state.rollouts == 1
    # The template did not change: same revision.
    assert state.deployment["metadata"]["annotations"][REVISION] == "1"


def test_a_scale_to_zero_removes_every_pod_and_keeps_the_after_restart_list():
    state = cluster(after_restart=["crashloop", "ready"])
    answer = scale(state, 0)
    assert state.pods == []
    assert answer["spec"] == {}
    # Zero counts are omitted, as the API server does.
    assert set(state.status) == {"observedGeneration", "conditions"}
    assert conditions(state) == {
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
    }
    scale(state, 2)
    assert modes(state) == ["crashloop"] * 2


def test_a_scale_to_the_current_count_changes_nothing():
    state = cluster()
    before = names(state)
    scale(state, 3)
    assert names(state) == before
    assert state.rollouts == 0
    assert state.deployment["metadata"]["generation"] == 1


def test_a_paused_deployment_does_not_roll_out_a_restart_until_unpaused():
    state = cluster(deployment={"paused": True})
    before = names(state)
    answer = restart(state)
    assert names(state) == before
    assert state.rollouts == 0
    assert answer["metadata"]["generation"] == 2
    assert "updatedReplicas" not in answer["status"]
    assert conditions(state)["Progressing"] == ("Unknown", "DeploymentPaused")

    merge_patch(state, DEPLOYMENT, {"spec": {"paused": False}})
    assert "paused" not in state.deployment["spec"]
    assert state.scenario["deployment"]["paused"] is False
    assert not set(names(state)) & set(before)
    assert state.rollouts == 1
    assert conditions(state)["Progressing"] == ("True", "NewReplicaSetAvailable")


def test_a_metadata_only_patch_is_stored_without_a_rollout():
    state = cluster()
    before_rv = state.deployment["metadata"]["resourceVersion"]
    answer = merge_patch(state, DEPLOYMENT, {"metadata": {"labels": {"team": "platform"}}})
    assert answer["metadata"]["labels"]["team"] == "platform"
    assert answer["metadata"]["generation"] == 1
    assert int(answer["metadata"]["resourceVersion"]) > int(before_rv)
    assert state.rollouts == 0


def test_progressing_keeps_its_transition_time_while_its_status_stays():
    state = cluster(pods="crashloop", after_restart="crashloop")
    first = {c["type"]: c for c in state.status["conditions"]}["Progressing"]
    restart(state)
    again = {c["type"]: c for c in state.status["conditions"]}["Progressing"]
    assert (again["status"], again["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert again["lastTransitionTime"] == first["lastTransitionTime"]
    # The message names the new ReplicaSet.
    assert state.rs_hash in again["message"] and state.rs_hash not in first["message"]


@pytest.mark.parametrize(
    ("replicas", "strategy", "allowed"),
    [
        (3, None, 0),
        (4, None, 1),
        (10, None, 2),
        (0, None, 0),
        (3, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}, 1),
        (5, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 2}}, 2),
        (3, {"type": "Recreate"}, 0),
    ],
)
def test_how_many_pods_may_be_unready_for_available(replicas, strategy, allowed):
    spec = {"replicas": replicas, **({"strategy": strategy} if strategy else {})}
    assert max_unavailable(spec) == allowed


# --- the admin API's scenario changes ------------------------------------------


def test_a_merged_pods_mode_relabels_the_current_pods_without_a_rollout():
    state = cluster()
    before = names(state)
    change(state, pods="crashloop")
    assert names(state) == before
    assert modes(state) == ["crashloop"] * 3
    assert state.rollouts == 0
    assert "readyReplicas" not in state.status
    assert state.deployment["metadata"]["generation"] == 1


def test_a_merged_replica_count_keeps_the_pods_it_can():
    state = cluster()
    before = names(state)
    change(state, deployment={"replicas": 5})
    assert names(state)[:3] == before and len(state.pods) == 5
    change(state, deployment={"replicas": 2})
    assert names(state) == before[:2]
    assert state.deployment["metadata"]["generation"] == 3


def test_a_merged_image_rolls_out_new_pods_of_it():
    state = cluster()
    before = names(state)
    change(state, deployment={"image": "ghcr.io/loft-sh/vcluster-platform:4.9.0"})
    assert not set(names(state)) & set(before)
    assert [pod["containers"][0]["image"] for pod in state.pods] == [
        "ghcr.io/loft-sh/vcluster-platform:4.9.0"
    ] * 3
    assert state.deployment["metadata"]["annotations"][REVISION] == "2"


def test_a_removed_deployment_has_no_pods_and_comes_back_at_generation_one():
    state = cluster()
    restart(state)
    change(state, deployment={"exists": False})
    assert state.deployment is None and state.pods == [] and state.status == {}
    change(state, deployment={"exists": True})
    assert state.deployment["metadata"]["generation"] == 1
    assert modes(state) == ["ready"] * 3


def test_a_changed_after_restart_list_starts_from_its_beginning():
    state = cluster(after_restart=["crashloop", "ready"])
    restart(state, "2026-11-22T10:00:00Z")
    assert modes(state) == ["crashloop"] * 3
    change(state, after_restart=["imagepull", "ready"])
    restart(state, "2026-11-22T10:01:00Z")
    assert modes(state) == ["imagepull"] * 3


def test_a_replaced_scenario_starts_over():
    state = cluster()
    restart(state)
    state.apply_scenario(complete_scenario({"pods": "pending"}, state.name, state.region), replace=True)
    assert state.rollouts == 0
    assert state.deployment["metadata"]["generation"] == 1
    assert modes(state) == ["pending"] * 3


# --- what the launcher's health check sees ---------------------------------------


@pytest.mark.parametrize(
    ("scenario", "served", "why"),
    [
        ({}, True, "3 of 3 pods ready"),
        ({"cluster_status": "FAILED"}, False, "cluster status FAILED"),
        ({"deployment": {"exists": False}}, False, "no deployment loft"),
        ({"pods": "crashloop"}, False, "no pod ready (3 pods: crashloop)"),
        ({"deployment": {"replicas": 0}}, False, "no pod ready (0 pods: none)"),
        ({"nodes": {"ready": 0, "not_ready": 0}}, False, "no pod ready (3 pods: ready)"),
    ],
)
def test_whether_the_platform_is_served(scenario, served, why):
    assert cluster(**scenario).serves_platform() == (served, why)
