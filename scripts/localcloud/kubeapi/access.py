"""Who a caller is, and what EKS makes of it: credentials, callers, access entries.

EKS authenticates a bearer token by asking STS who signed it
(``GetCallerIdentity``), then looks the IAM principal up in the cluster's
access entries: no entry, no access (401); an entry gives a Kubernetes
username and groups, which RBAC then authorizes (``rbac``).

Here the signature is checked locally (``eks_token``), so the secret of an
access key must be known:

- the local cloud's own static credentials (``testing``/``testing``, what
  moto and DynamoDB Local are called with) are the IAM user ``moto``, which
  created every cluster: on EKS the creator gets cluster admin
  (AmazonEKSClusterAdminPolicy), and so it does here;
- temporary credentials (an ``ASIA...`` key with its session token) are
  looked up with ``use_temporary_credentials``' lookup: the launcher asks
  moto's STS for the role session it issued, so a token signed with the
  credentials of a function's role is that role, and only it.

An access entry maps a principal ARN (an IAM role or user) to a username and
Kubernetes groups, as ``aws eks create-access-entry --kubernetes-groups``
does; a role's default username is
``arn:aws:sts::<account>:assumed-role/<role>/{{SessionName}}``, as on EKS.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_ACCOUNT = "123456789012"
LOCAL_CLOUD_USER = f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/moto"
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
AUTHENTICATED = "system:authenticated"

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})")
_USER_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):user/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})")
_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._@-]{0,99}")


class AccessError(ValueError):
    """An access entry that EKS would not accept; the message names the field."""


@dataclass(frozen=True)
class Caller:
    """Who signed a token, as STS answers ``GetCallerIdentity``."""

    arn: str
    # The IAM principal an access entry names: the role of a role session, or the user.
    principal_arn: str
    account: str
    session_name: str | None = None


@dataclass(frozen=True)
class Credential:
    """What the local cloud knows of an access key."""

    secret: str
    caller: Caller
    # Temporary credentials pass only with their own session token, until they expire.
    session_token: str | None = None
    expires_at: float | None = None


STATIC_CREDENTIALS = {
    "testing": Credential("testing", Caller(LOCAL_CLOUD_USER, LOCAL_CLOUD_USER, DEFAULT_ACCOUNT)),
}

_temporary: Callable[[str], Credential | None] | None = None
_temporary_lock = threading.Lock()


def use_temporary_credentials(lookup: Callable[[str], Credential | None] | None) -> None:
    """Where the secret of a temporary access key is found (the launcher: moto's STS)."""
    global _temporary
    with _temporary_lock:
        _temporary = lookup


def credential(access_key: str) -> Credential | None:
    static = STATIC_CREDENTIALS.get(access_key)
    if static is not None:
        return static
    with _temporary_lock:
        lookup = _temporary
    return lookup(access_key) if lookup is not None else None


@dataclass(frozen=True)
class User:
    """A caller as Kubernetes sees it."""

    name: str
    groups: tuple[str, ...]
    cluster_admin: bool = False


@dataclass(frozen=True)
class AccessEntry:
    principal_arn: str
    kubernetes_groups: tuple[str, ...]
    username: str
    # The access policy the cluster creator gets; nothing else here has one.
    cluster_admin: bool = False

    def user(self, caller: Caller) -> User:
        name = self.username.replace("{{SessionName}}", caller.session_name or "").replace(
            "{{AccountID}}", caller.account
        )
        return User(name, (*self.kubernetes_groups, AUTHENTICATED), self.cluster_admin)

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "principalArn": self.principal_arn,
            "kubernetesGroups": list(self.kubernetes_groups),
            "username": self.username,
            "type": "STANDARD",
        }
        if self.cluster_admin:
            entry["accessPolicies"] = [CLUSTER_ADMIN_POLICY]
        return entry


def creator_entry() -> AccessEntry:
    return AccessEntry(LOCAL_CLOUD_USER, (), LOCAL_CLOUD_USER, cluster_admin=True)


def default_username(principal_arn: str) -> str:
    role = _ROLE_ARN.fullmatch(principal_arn)
    if role:
        partition = principal_arn.split(":")[1]
        return f"arn:{partition}:sts::{role.group(1)}:assumed-role/{role.group(2)}/{{{{SessionName}}}}"
    return principal_arn


def access_entry_from(body: Any) -> AccessEntry:
    """An access entry from its JSON (``principalArn``, ``kubernetesGroups``, optional ``username``)."""
    if not isinstance(body, dict):
        raise AccessError('expected {"principalArn": ..., "kubernetesGroups": [...]}')
    unknown = sorted(set(body) - {"principalArn", "kubernetesGroups", "username"})
    if unknown:
        raise AccessError(f"unknown field {', '.join(unknown)} (principalArn, kubernetesGroups, username)")
    principal = body.get("principalArn")
    iam_principal = isinstance(principal, str) and (
        _ROLE_ARN.fullmatch(principal) or _USER_ARN.fullmatch(principal)
    )
    if not iam_principal:
        raise AccessError(f"principalArn {principal!r}: expected an IAM role or user ARN")
    groups = body.get("kubernetesGroups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise AccessError("kubernetesGroups must be a list of strings")
    for group in groups:
        if group.startswith("system:"):
            raise AccessError(f"kubernetesGroups: {group!r}: EKS does not allow groups starting with system:")
        if not _GROUP.fullmatch(group):
            raise AccessError(f"kubernetesGroups: {group!r} is not a group name")
    username = body.get("username", default_username(principal))
    if not isinstance(username, str) or not username or username.startswith("system:"):
        raise AccessError(f"username {username!r}: a non-empty name not starting with system:")
    return AccessEntry(principal, tuple(dict.fromkeys(groups)), username)
