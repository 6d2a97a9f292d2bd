"""Local Kubernetes API servers, one per EKS cluster, and their admin API.

Imported by ``launcher.py``, which runs it in the moto process: every EKS
cluster created through the real EKS API (``CreateCluster``, any region) gets
its own emulated Kubernetes API server (``REGISTRY.create``), and the
launcher's ``DescribeCluster`` override answers that server's endpoint, CA
and the scenario's ``cluster_status``. A cluster deleted through
``DeleteCluster`` (or a moto reset) stops its server. Python stdlib plus
``cryptography`` and PyYAML (the RBAC manifests) only.

It serves the paths the Rust adapter (``functions/kube``) calls, no more, as
a real API server answers them, and lets a test decide what the cluster looks
like and how it reacts. One module per job:

``tls``         each cluster's CA and server certificate
``eks_token``   the EKS bearer token check (a presigned STS URL, SigV4)
``access``      who signed a token, access entries, the Kubernetes user
``rbac``        the RBAC manifests (scripts/rbac), rendered and enforced,
                and Kubernetes' bootstrap policy
``reviews``     SelfSubjectAccessReviews, decided by the caller's own RBAC
``peer``        the local process at the other end of a connection
``routes``      the Kubernetes API paths, methods and query parameters
``selectors``   label selectors on lists
``scenario``    what a cluster looks like: the schema a test writes
``controller``  the deployment controller: rollouts and scaling
``status``      the deployment status it derives from the pods
``chart``       the platform's objects as its Helm chart installs them
``render``      the objects as the API answers them; ``pods``: the pods
``merge_patch`` JSON merge patch (RFC 7386)
``api_errors``  errors as a Kubernetes ``Status``
``clock``       timestamps as the API writes them
``faults``      injected errors and delays
``server``      the HTTPS server of one cluster
``cluster``     one cluster: state, server, request log, faults
``registry``    every cluster, by account, region and name
``admin``       the admin API of tests and drills (plain HTTP)
"""

from .access import Caller, Credential, use_temporary_credentials
from .admin import EXTRA_ROUTES, AdminError, start_admin, use_credential_source
from .cluster import KubeCluster
from .registry import REGISTRY

__all__ = [
    "EXTRA_ROUTES",
    "REGISTRY",
    "AdminError",
    "Caller",
    "Credential",
    "KubeCluster",
    "start_admin",
    "use_credential_source",
    "use_temporary_credentials",
]
