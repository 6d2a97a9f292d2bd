"""provision.py's identities: a role per function of the template, the
groups grant-eks-access would give them, and a function configuration
without static credentials."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import provision  # noqa: E402
from kubeapi import rbac  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def test_every_function_of_the_template_gets_a_role() -> None:
    binaries = provision.function_binaries(provision.load_template())
    assert {"confirm-outage", "restore-platform", "verify-recovery", "check-derp-peers"} <= set(binaries)
    assert len(binaries) == len(set(binaries))


def test_the_functions_that_reach_kubernetes_get_the_groups_grant_eks_access_gives_them() -> None:
    binaries = set(provision.function_binaries(provision.load_template()))
    assert set(provision.KUBERNETES_GROUPS) <= binaries
    policy = rbac.load("vcluster-platform", "loft")
    bound = {s.name for b in policy.bindings for s in b.subjects}
    given = {g for groups in provision.KUBERNETES_GROUPS.values() for g in groups}
    assert given == bound, "every bound group is some function's, and only bound groups are given"
    script = (ROOT / "scripts/grant-eks-access").read_text()
    # restore-platform alone may patch: --restore-role-arn RESTORE --read-role-arn VERIFY --read-role-arn DERP
    assert provision.KUBERNETES_GROUPS["restore-platform"] == [re.search(r"RESTORE_GROUP=(\S+)", script)[1]]
    read = re.search(r"READ_GROUP=(\S+)", script)[1]
    assert (
        provision.KUBERNETES_GROUPS["verify-recovery"]
        == provision.KUBERNETES_GROUPS["check-derp-peers"]
        == [read]
    )


def test_a_role_name_iam_would_refuse_is_an_error_naming_the_function() -> None:
    assert provision.role_name("drill-crashloop-034751-32155", "escalate-incident") == (
        "drill-crashloop-034751-32155-escalate-incident"
    )
    with pytest.raises(provision.Failure) as caught:
        provision.role_name("e" * 50, "escalate-incident")
    message = str(caught.value)
    assert "the role of function escalate-incident would be" in message
    assert "(68 characters)" in message and "at most 64" in message


def test_the_function_configuration_carries_no_static_credentials() -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        assert key not in provision.ENDPOINT_ENV
    # No profile of the machine stands in for a function's role.
    assert (
        provision.ENDPOINT_ENV["AWS_CONFIG_FILE"]
        == provision.ENDPOINT_ENV["AWS_SHARED_CREDENTIALS_FILE"]
        == "/dev/null"
    )
