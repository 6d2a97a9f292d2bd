"""The objects as the adapter reads them (functions/kube/src/platform.rs):
deployment status, pod phases and container statuses, node readiness,
the ingress's load balancer, the DERP peers."""

import sys
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi.controller import ClusterState  # noqa: E402
from kubeapi.pods import render_pod  # noqa: E402
from kubeapi.render import (  # noqa: E402
    render_deployment,
    render_ingress,
    render_nodes,
    render_peers,
    render_scale,
    summarize,
)
from kubeapi.scenario import complete_scenario  # noqa: E402


def cluster(region: str = "us-east-1", **scenario) -> ClusterState:
    state = ClusterState(f"kt-{region}", region)
    state.apply_scenario(complete_scenario(scenario, state.name, state.region), replace=True)
    return state


def pods(state: ClusterState) -> list[dict]:
    return [render_pod(state, pod) for pod in state.pods]


def condition(obj: dict, kind: str) -> dict:
    return next(c for c in obj["status"]["conditions"] if c["type"] == kind)


def waiting_reasons(pod: dict) -> list[str | None]:
    return [s["state"].get("waiting", {}).get("reason") for s in pod["status"].get("containerStatuses", [])]


def test_a_healthy_deployment_renders_what_verify_recovery_checks():
    deployment = render_deployment(cluster())
    assert (deployment["apiVersion"], deployment["kind"]) == ("apps/v1", "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert "paused" not in deployment["spec"]
    assert deployment["metadata"]["generation"] == 1
    status = deployment["status"]
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
    }
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("Available", "True", "MinimumReplicasAvailable"),
        ("Progressing", "True", "NewReplicaSetAvailable"),
    ]


def test_a_paused_deployment_says_so_in_spec_and_status():
    deployment = render_deployment(cluster(deployment={"paused": True}))
    assert deployment["spec"]["paused"] is True
    assert condition(deployment, "Progressing")["reason"] == "DeploymentPaused"


def test_the_rendered_deployment_is_a_copy():
    state = cluster()
    render_deployment(state)["spec"]["replicas"] = 99
    assert state.deployment["spec"]["replicas"] == 3


def test_the_scale_subresource_names_its_selector_and_counts():
    scale = render_scale(cluster())
    assert (scale["apiVersion"], scale["kind"]) == ("autoscaling/v1", "Scale")
    assert scale["metadata"]["name"] == "loft"
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"] == {"replicas": 3, "selector": "app=loft"}


def test_a_ready_pod_is_running_ready_with_a_running_container():
    state = cluster()
    pod = pods(state)[0]
    assert pod["metadata"]["labels"] == {"app": "loft", "release": "loft", "pod-template-hash": state.rs_hash}
    assert pod["metadata"]["ownerReferences"][0]["name"] == f"loft-{state.rs_hash}"
    assert pod["spec"]["nodeName"] == state.node_names()[0][0]
    assert pod["status"]["phase"] == "Running"
    assert condition(pod, "Ready")["status"] == "True"
    assert condition(pod, "PodScheduled")["status"] == "True"
    (container,) = pod["status"]["containerStatuses"]
    assert container["name"] == "manager"
    assert container["ready"] is True and container["restartCount"] == 0
    assert set(container["state"]) == {"running"}


def test_a_crash_looping_pod_is_running_unready_and_restarting():
    pod = pods(cluster(pods="crashloop"))[1]
    assert pod["status"]["phase"] == "Running"
    ready = condition(pod, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")
    assert waiting_reasons(pod) == ["CrashLoopBackOff"]
    (container,) = pod["status"]["containerStatuses"]
    assert container["restartCount"] >= 5
    assert container["lastState"]["terminated"]["exitCode"] == 1


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("imagepull", "ImagePullBackOff"), ("configerror", "CreateContainerConfigError")],
)
def test_a_pod_that_cannot_start_its_container_is_pending_with_the_waiting_reason(mode, reason):
    pod = pods(cluster(pods=mode))[0]
    assert pod["status"]["phase"] == "Pending"
    assert condition(pod, "Ready")["status"] == "False"
    assert condition(pod, "PodScheduled")["status"] == "True"
    assert waiting_reasons(pod) == [reason]
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0


def test_an_unschedulable_pod_has_no_node_and_no_container_statuses():
    pod = pods(cluster(pods="pending", nodes={"ready": 2, "not_ready": 1}))[0]
    assert pod["status"]["phase"] == "Pending"
    assert "nodeName" not in pod["spec"]
    assert "containerStatuses" not in pod["status"]
    scheduled = condition(pod, "PodScheduled")
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert scheduled["message"].startswith("0/3 nodes are available")


def test_pods_with_no_node_at_all_are_unschedulable_whatever_their_mode():
    pod = pods(cluster(nodes={"ready": 0, "not_ready": 0}))[0]
    assert condition(pod, "PodScheduled")["reason"] == "Unschedulable"


def test_pods_run_on_not_ready_nodes_when_no_node_is_ready():
    state = cluster(nodes={"ready": 0, "not_ready": 2})
    assert {pod["spec"]["nodeName"] for pod in pods(state)} == {name for name, _ in state.node_names()}


def test_nodes_are_ready_or_not_as_the_scenario_says():
    state = cluster(region="eu-west-1", nodes={"ready": 2, "not_ready": 1})
    nodes = render_nodes(state)
    assert [condition(n, "Ready")["status"] for n in nodes] == ["True", "True", "False"]
    assert all(n["metadata"]["name"].endswith(".eu-west-1.compute.internal") for n in nodes)
    assert [n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes] == [
        "eu-west-1a",
        "eu-west-1b",
        "eu-west-1c",
    ]
    assert "taints" not in nodes[0]["spec"]
    assert [t["effect"] for t in nodes[2]["spec"]["taints"]] == ["NoSchedule", "NoExecute"]
    assert condition(nodes[2], "Ready")["reason"] == "KubeletNotReady"


def test_node_names_in_us_east_1_are_ec2_internal_and_stable():
    state = cluster()
    first = [n["metadata"] for n in render_nodes(state)]
    again = [n["metadata"] for n in render_nodes(state)]
    assert first == again
    assert first[0]["name"] == "ip-10-0-1-20.ec2.internal"


def test_the_ingress_names_its_load_balancer():
    ingress = render_ingress(cluster(), "loft")
    assert ingress["status"]["loadBalancer"] == {
        "ingress": [{"hostname": "k8s-vclusterplatform-loft-1234567890.us-east-1.elb.amazonaws.com"}]
    }


def test_an_ingress_without_a_load_balancer_has_an_empty_status():
    assert render_ingress(cluster(ingress={"hostname": ""}), "loft")["status"] == {"loadBalancer": {}}


def test_an_offline_peer_has_no_online_field():
    state = cluster(
        peers=[
            {"name": "eu-west-1-peer", "online": True, "homeDerpRegion": 900},
            {
                "name": "us-east-1-peer",
                "online": False,
                "lastSeen": "2026-11-22T09:58:00Z",
                "homeDerpRegion": 901,
            },
        ]
    )
    online, offline = render_peers(state)
    assert (online["apiVersion"], online["kind"]) == ("storage.loft.sh/v1", "NetworkPeer")
    assert online["metadata"]["name"] == "eu-west-1-peer"
    assert online["status"]["online"] is True and online["status"]["homeDerpRegion"] == 900
    assert offline["status"] == {"lastSeen": "2026-11-22T09:58:00Z", "homeDerpRegion": 901}


def test_a_peer_without_last_seen_was_seen_now_or_ten_minutes_ago():
    state = cluster(peers=[{"name": "up"}, {"name": "down", "online": False}])
    up, down = render_peers(state)
    assert up["status"]["lastSeen"] > down["status"]["lastSeen"]
    assert up["status"]["homeDerpRegion"] == 900


def test_the_default_peer_is_named_after_the_cluster():
    (peer,) = render_peers(cluster())
    assert peer["metadata"]["name"] == "kt-us-east-1-peer-1"


def test_the_summary_is_the_short_view_of_the_deployment_and_pods():
    summary = summarize(cluster(pods="imagepull"))
    assert summary["rollouts"] == 0
    assert summary["deployment"]["replicas"] == 3
    assert summary["deployment"]["readyReplicas"] == 0
    assert summary["deployment"]["conditions"] == {
        "Available": "False MinimumReplicasUnavailable",
        "Progressing": "False ProgressDeadlineExceeded",
    }
    assert [(p["phase"], p["ready"], p["reason"]) for p in summary["pods"]] == [
        ("Pending", False, "ImagePullBackOff")
    ] * 3


def test_the_summary_of_unschedulable_pods_says_so():
    summary = summarize(cluster(pods="pending"))
    assert {p["reason"] for p in summary["pods"]} == {"Unschedulable"}
    assert summarize(cluster(deployment={"exists": False})) == {"deployment": None, "pods": [], "rollouts": 0}
