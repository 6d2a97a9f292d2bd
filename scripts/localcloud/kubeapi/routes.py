"""The Kubernetes API paths of one cluster: exactly what the Rust adapter calls.

JSON in and out; an unknown path answers 404 ``NotFound``, a known path with
another method 405 ``MethodNotAllowed``, a query parameter the path does not
take 400 ``BadRequest`` (so a client relying on ``watch``, ``fieldSelector``
or ``dryRun`` learns at once that they are not emulated), always as a
``Status``:

- ``GET|PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}``: apps/v1
  Deployment. PATCH takes ``application/merge-patch+json`` (RFC 7386) only,
  any other type 415; a patch carrying ``metadata.resourceVersion`` is
  refused (400: preconditions are not emulated). The spec is validated as
  the API server does (replicas >= 0, selector immutable and matching the
  template's labels, containers with a name and an image: 422 ``Invalid``);
  status is the controller's; a changed spec bumps ``metadata.generation``.
- ``PATCH .../deployments/{name}/scale``: a merge patch of the autoscaling/v1
  Scale (``{"spec": {"replicas": N}}``); answers the Scale.
- ``GET /api/v1/namespaces/{ns}/pods``: PodList, ``?labelSelector=``
  (``selectors``).
- ``GET /api/v1/nodes``: NodeList (Ready True / False), ``?labelSelector=``.
- ``GET /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}``.
- ``GET /apis/storage.loft.sh/v1/networkpeers``: NetworkPeerList (cluster
  scoped), ``?labelSelector=``.
- ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``: 201, the
  review decided by the caller's own RBAC (``reviews``).
- ``GET /version``: the version EKS answers for the scenario's
  ``kubernetes_version`` (``render.render_version``).

The platform lives in namespace ``vcluster-platform``: deployment ``loft``
(selector ``app=loft``, container ``manager``), its pods, ingress ``loft``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import chart, reviews
from .api_errors import ApiError, not_found
from .controller import ClusterState
from .merge_patch import merge_patch
from .pods import render_pod
from .render import (
    render_deployment,
    render_ingress,
    render_nodes,
    render_peers,
    render_scale,
    render_version,
)
from .scenario import is_int
from .selectors import select

MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes
    # The caller's own RBAC decision, uncounted (the server binds it to the caller).
    review: reviews.Review | None = None
    # Sent back as Warning headers, even with an error.
    warnings: list[str] = field(default_factory=list)


Handler = Callable[[ClusterState, Request, "re.Match[str]"], tuple[int, Any]]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: tuple[str, ...]
    handler: Handler
    query: tuple[str, ...] = ()


def handle(state: ClusterState, request: Request) -> tuple[int, Any]:
    """(status, JSON body) for one authenticated request; raises ApiError for an error answer."""
    for route in ROUTES:
        match = route.pattern.fullmatch(request.path)
        if match:
            break
    else:
        raise ApiError(404, "the server could not find the requested resource", "NotFound")
    if request.method not in route.methods:
        raise ApiError(
            405,
            f"the server does not allow this method on the requested resource ({request.method})",
            "MethodNotAllowed",
        )
    unsupported = sorted(set(request.query) - set(route.query))
    if unsupported:
        raise ApiError(
            400,
            f"the local Kubernetes API does not support the query parameter {', '.join(unsupported)} "
            f"on {request.path} (it takes: {', '.join(route.query) or 'none'})",
        )
    return route.handler(state, request, match)


# --- deployments -------------------------------------------------------------


def _the_deployment(state: ClusterState, match: re.Match[str]) -> dict:
    namespace, name = match.group("namespace"), match.group("name")
    if namespace != chart.NAMESPACE or name != chart.DEPLOYMENT or state.deployment is None:
        raise not_found("deployments.apps", name)
    return state.deployment


def _deployment(state: ClusterState, request: Request, match: re.Match[str]) -> tuple[int, Any]:
    stored = _the_deployment(state, match)
    if request.method == "GET":
        return 200, render_deployment(state)
    patch = _merge_patch_body(request)
    meta = stored["metadata"]
    current = {"metadata": copy.deepcopy(meta), "spec": copy.deepcopy(stored["spec"])}
    # Status is the controller's, and kind / apiVersion are the URL's.
    merged = merge_patch(current, {k: v for k, v in patch.items() if k in ("metadata", "spec")})
    new_meta = merged.get("metadata") if isinstance(merged.get("metadata"), dict) else {}
    for key in ("name", "namespace"):
        if new_meta.get(key, meta[key]) != meta[key]:
            raise ApiError(
                400,
                f"the {key} of the object ({new_meta.get(key)}) "
                f"does not match the {key} on the URL ({meta[key]})",
            )
    for key in ("name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion"):
        new_meta[key] = meta[key]
    spec = merged.get("spec")
    _validate_spec(spec, stored["spec"]["selector"])
    # The API server drops a false paused (omitempty): the spec compares equal to an unpaused one.
    if spec.get("paused") is False:
        del spec["paused"]
    state.store_deployment(new_meta, spec)
    return 200, render_deployment(state)


def _scale(state: ClusterState, request: Request, match: re.Match[str]) -> tuple[int, Any]:
    stored = _the_deployment(state, match)
    patch = _merge_patch_body(request)
    merged = merge_patch(render_scale(state), patch)
    meta = merged.get("metadata") if isinstance(merged.get("metadata"), dict) else {}
    if meta.get("name", chart.DEPLOYMENT) != chart.DEPLOYMENT:
        raise ApiError(
            400,
            f"the name of the object ({meta.get('name')}) "
            f"does not match the name on the URL ({chart.DEPLOYMENT})",
        )
    replicas = (merged.get("spec") or {}).get("replicas", 0) if isinstance(merged.get("spec"), dict) else 0
    if not is_int(replicas):
        raise ApiError(400, "spec.replicas: expected an integer")
    if replicas < 0:
        raise ApiError(
            422,
            f'Scale.autoscaling "{chart.DEPLOYMENT}" is invalid: spec.replicas: Invalid value: {replicas}: '
            "must be greater than or equal to 0",
            "Invalid",
        )
    spec = copy.deepcopy(stored["spec"])
    spec["replicas"] = replicas
    state.store_deployment(copy.deepcopy(stored["metadata"]), spec)
    return 200, render_scale(state)


def _merge_patch_body(request: Request) -> dict:
    if request.content_type != MERGE_PATCH:
        raise ApiError(
            415,
            f"the body of the request was in an unknown format "
            f"({request.content_type or 'no Content-Type'}) - accepted media types include: {MERGE_PATCH}",
            "UnsupportedMediaType",
        )
    try:
        patch = json.loads(request.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"error decoding the request body as JSON: {exc}") from exc
    if not isinstance(patch, dict):
        raise ApiError(400, "the patch must be a JSON object")
    metadata = patch.get("metadata")
    if isinstance(metadata, dict) and metadata.get("resourceVersion") is not None:
        raise ApiError(
            400,
            "metadata.resourceVersion in a patch is a precondition, "
            "which the local Kubernetes API does not support",
        )
    return patch


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        f'Deployment.apps "{chart.DEPLOYMENT}" is invalid: {field}: {message}',
        "Invalid",
        {
            "name": chart.DEPLOYMENT,
            "group": "apps",
            "kind": "Deployment",
            "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}],
        },
    )


def _validate_spec(spec: Any, selector: dict) -> None:
    """What the API server refuses in a deployment spec; defaults ``replicas`` to 1, as it does."""
    if not isinstance(spec, dict):
        raise _invalid("spec", "Required value")
    spec.setdefault("replicas", 1)
    replicas = spec["replicas"]
    if not is_int(replicas):
        raise ApiError(400, "spec.replicas: expected an integer")
    if replicas < 0:
        raise _invalid("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")
    if "paused" in spec and not isinstance(spec["paused"], bool):
        raise ApiError(400, "spec.paused: expected a boolean")
    if spec.get("selector") != selector:
        raise _invalid("spec.selector", "Invalid value: field is immutable")
    template = spec.get("template")
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        raise _invalid("spec.template", "Required value")
    labels = (template.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
        raise _invalid(
            "spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`"
        )
    containers = template["spec"].get("containers")
    if not isinstance(containers, list) or not containers:
        raise _invalid("spec.template.spec.containers", "Required value")
    for index, container in enumerate(containers):
        if (
            not isinstance(container, dict)
            or not isinstance(container.get("name"), str)
            or not container.get("name")
        ):
            raise _invalid(f"spec.template.spec.containers[{index}].name", "Required value")
        if not isinstance(container.get("image"), str) or not container.get("image"):
            raise _invalid(f"spec.template.spec.containers[{index}].image", "Required value")


# --- lists and reads ---------------------------------------------------------


def _list(
    state: ClusterState, api_version: str, kind: str, items: list[dict], request: Request
) -> tuple[int, Any]:
    return 200, {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"resourceVersion": state.resource_version},
        "items": select(items, request.query.get("labelSelector", "")),
    }


def _pods(state: ClusterState, request: Request, match: re.Match[str]) -> tuple[int, Any]:
    in_namespace = match.group("namespace") == chart.NAMESPACE
    pods = [render_pod(state, pod) for pod in state.pods] if in_namespace else []
    return _list(state, "v1", "PodList", pods, request)


def _nodes(state: ClusterState, request: Request, match: re.Match[str]) -> tuple[int, Any]:
    return _list(state, "v1", "NodeList", render_nodes(state), request)


def _peers(state: ClusterState, request: Request, match: re.Match[str]) -> tuple[int, Any]:
    return _list(state, "storage.loft.sh/v1", "NetworkPeerList", render_peers(state), request)


def _ingress(state: ClusterState, request: Request, match: re.Match[str]) -> tuple[int, Any]:
    if match.group("namespace") != chart.NAMESPACE:
        raise not_found("ingresses.networking.k8s.io", match.group("name"))
    return 200, render_ingress(state, match.group("name"))


def _access_review(state: ClusterState, request: Request, match: re.Match[str]) -> tuple[int, Any]:
    if request.review is None:
        raise ApiError(500, "Internal error occurred: no authorizer for the review")
    return 201, reviews.answer(request.body, request.content_type, request.review, request.warnings)


def _version(state: ClusterState, request: Request, match: re.Match[str]) -> tuple[int, Any]:
    return 200, render_version(state)


_SEGMENT = "[^/]+"
_DEPLOYMENT_PATH = rf"/apis/apps/v1/namespaces/(?P<namespace>{_SEGMENT})/deployments/(?P<name>{_SEGMENT})"

ROUTES = (
    Route(re.compile(_DEPLOYMENT_PATH), ("GET", "PATCH"), _deployment),
    Route(re.compile(_DEPLOYMENT_PATH + "/scale"), ("PATCH",), _scale),
    Route(
        re.compile(rf"/api/v1/namespaces/(?P<namespace>{_SEGMENT})/pods"), ("GET",), _pods, ("labelSelector",)
    ),
    Route(re.compile(r"/api/v1/nodes"), ("GET",), _nodes, ("labelSelector",)),
    Route(
        re.compile(
            rf"/apis/networking\.k8s\.io/v1/namespaces/(?P<namespace>{_SEGMENT})/ingresses/(?P<name>{_SEGMENT})"
        ),
        ("GET",),
        _ingress,
    ),
    Route(re.compile(r"/apis/storage\.loft\.sh/v1/networkpeers"), ("GET",), _peers, ("labelSelector",)),
    Route(re.compile(r"/apis/authorization\.k8s\.io/v1/selfsubjectaccessreviews"), ("POST",), _access_review),
    Route(re.compile(r"/version/?"), ("GET",), _version),
)
