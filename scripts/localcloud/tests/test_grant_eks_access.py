"""scripts/grant-eks-access against stand-ins for the aws CLI and kubectl
that record what they are asked: each role in its own group, the RBAC
rendered for the given namespace and deployment and applied before the
access entries move, the old shared group removed last; every bad argument
named, and nothing asked of AWS or the cluster then."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi import rbac  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts/grant-eks-access"
RESTORE = "arn:aws:iam::123456789012:role/platform-failover-RestorePlatformFunctionRole-A1"
VERIFY = "arn:aws:iam::123456789012:role/platform-failover-VerifyRecoveryFunctionRole-B2"
DERP = "arn:aws:iam::123456789012:role/platform-failover-CheckDerpPeersFunctionRole-C3"

# Each stand-in appends one line per call: its name and arguments; kubectl
# apply also keeps what it was given on stdin.
AWS = """#!/usr/bin/env bash
echo "aws $*" >>"$CALLS"
case "$2" in
  describe-cluster) echo "${AUTH_MODE:-API_AND_CONFIG_MAP}" ;;
  describe-access-entry) [[ " $* " == *" ${EXISTING:-none} "* ]] || exit 254 ;;
esac
"""
KUBECTL = """#!/usr/bin/env bash
echo "kubectl $*" >>"$CALLS"
if [[ " $* " == *" apply "* ]]; then cat >"$APPLIED"; fi
"""


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("aws", AWS), ("kubectl", KUBECTL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return tmp_path


def grant(tools: Path, *args: str, **env: str) -> tuple[int, str, list[str], str]:
    environment = {
        "PATH": f"{tools / 'bin'}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "CALLS": str(tools / "calls"),
        "APPLIED": str(tools / "applied.yaml"),
        **env,
    }
    done = subprocess.run([str(SCRIPT), *args], env=environment, capture_output=True, text=True, check=False)
    calls = (tools / "calls").read_text().splitlines() if (tools / "calls").exists() else []
    applied = (tools / "applied.yaml").read_text() if (tools / "applied.yaml").exists() else ""
    return done.returncode, done.stdout + done.stderr, calls, applied


ALL = ("--cluster", "platform-us-east-1", "--region", "us-east-1", "--restore-role-arn", RESTORE)
READS = ("--read-role-arn", VERIFY, "--read-role-arn", DERP)


def test_each_role_gets_its_own_group_after_the_rbac_is_applied(tools) -> None:
    code, output, calls, applied = grant(tools, *ALL, *READS, "--context", "east")
    assert code == 0, output
    where = "--cluster-name platform-us-east-1 --region us-east-1"
    assert calls == [
        "aws eks describe-cluster --name platform-us-east-1 --region us-east-1 "
        "--query cluster.accessConfig.authenticationMode --output text",
        "kubectl --context east apply -f -",
        f"aws eks describe-access-entry {where} --principal-arn {RESTORE}",
        f"aws eks create-access-entry {where} --principal-arn {RESTORE} --type STANDARD "
        "--kubernetes-groups platform-failover-restore",
        f"aws eks describe-access-entry {where} --principal-arn {VERIFY}",
        f"aws eks create-access-entry {where} --principal-arn {VERIFY} --type STANDARD "
        "--kubernetes-groups platform-failover-read",
        f"aws eks describe-access-entry {where} --principal-arn {DERP}",
        f"aws eks create-access-entry {where} --principal-arn {DERP} --type STANDARD "
        "--kubernetes-groups platform-failover-read",
        "kubectl --context east delete --ignore-not-found clusterrolebinding/platform-failover "
        "clusterrole/platform-failover",
        "kubectl --context east delete --ignore-not-found --namespace vcluster-platform "
        "rolebinding/platform-failover role/platform-failover",
    ]
    assert applied == rbac.render(
        (ROOT / "scripts/rbac/platform-failover.yaml").read_text(), "vcluster-platform", "loft"
    ), "the script renders the manifest exactly as the local Kubernetes API does"
    assert "the functions can now reach platform-us-east-1" in output


def test_the_namespace_and_deployment_given_are_the_ones_granted(tools) -> None:
    code, output, _, applied = grant(tools, *ALL, *READS, "--namespace", "platform", "--deployment", "vcp")
    assert code == 0, output
    policy = rbac.Policy()
    rbac.parse(applied, "applied", policy)
    roles = [r for r in policy.roles.values() if r.kind == "Role"]
    assert {r.namespace for r in roles} == {"platform"}
    assert {n for r in roles for rule in r.rules for n in rule.resource_names} == {"vcp"}
    assert "${" not in applied


def test_an_existing_entry_is_moved_to_the_roles_group(tools) -> None:
    code, output, calls, _ = grant(tools, *ALL, *READS, EXISTING=VERIFY)
    assert code == 0, output
    assert (
        "aws eks update-access-entry --cluster-name platform-us-east-1 --region us-east-1 "
        f"--principal-arn {VERIFY} --kubernetes-groups platform-failover-read"
    ) in calls


def test_a_cluster_without_access_entries_changes_nothing(tools) -> None:
    code, output, calls, applied = grant(tools, *ALL, *READS, AUTH_MODE="CONFIG_MAP")
    assert code == 1
    assert "uses authentication mode CONFIG_MAP" in output
    assert len(calls) == 1 and applied == ""


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            (),
            [
                "--cluster is required",
                "--region is required",
                "--restore-role-arn or --read-role-arn is required",
            ],
        ),
        (("--cluster",), ["--cluster needs a value"]),
        (("--role-arn", RESTORE, *ALL), ["--role-arn is gone", "use --restore-role-arn (restore-platform)"]),
        ((*ALL, "--read-role-arn", "verify"), ["--read-role-arn must be an IAM role ARN, got 'verify'"]),
        (
            (*ALL, "--read-role-arn", RESTORE),
            [f"{RESTORE} is given as both --restore-role-arn and --read-role-arn"],
        ),
        ((*ALL, "--restore-role-arn", VERIFY), ["--restore-role-arn is given 2 times"]),
        (
            (*ALL, "--namespace", "Platform_NS"),
            ["--namespace 'Platform_NS' is not a Kubernetes namespace name"],
        ),
        ((*ALL, "--deployment", "loft!"), ["--deployment 'loft!' is not a Kubernetes object name"]),
        ((*ALL, "--colour", "red"), ["unknown argument: --colour", "unknown argument: red"]),
        (
            ("--cluster", "c", "--restore-role-arn", "x", "--namespace", "A"),
            ["--region is required", "got 'x'", "--namespace 'A'"],
        ),
    ],
)
def test_every_bad_argument_is_named_and_nothing_is_changed(tools, args, says) -> None:
    code, output, calls, applied = grant(tools, *args)
    assert code == 1, output
    errors = [line for line in output.splitlines() if line.startswith("grant-eks-access: error: ")]
    for fragment in says:
        assert any(fragment in line for line in errors), output
    assert calls == [] and applied == "", "nothing is asked of AWS or the cluster"
