"""SelfSubjectAccessReview: may I? asked of the RBAC that enforces the asker's requests.

``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`` with

    {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
     "spec": {"resourceAttributes": {"namespace", "verb", "group", "version",
                                      "resource", "subresource", "name"}}}

or ``"spec": {"nonResourceAttributes": {"path", "verb"}}`` answers 201 with
the review echoed as the API server decoded it (empty strings left out,
``metadata: {"creationTimestamp": null}``) and ``status: {"allowed",
"reason"?}``: the decision, for the caller's own user and groups, of the
authorizer its other requests meet (the shipped RBAC, then Kubernetes'
bootstrap policy; the cluster's creator is allowed everything), worded as the
RBAC authorizer words it (``RBAC: allowed by RoleBinding "..." of Role "..."
to Group "..."``; a refusal has no reason unless a binding names a missing
role). RBAC never denies, it only does not allow: ``denied`` is never set.

Refused as the API server refuses them: a body that is not JSON or has a
field of the wrong type (400 ``BadRequest``, "... cannot be handled as a
SelfSubjectAccessReview"), another ``apiVersion`` or ``kind`` (400), no
``resourceAttributes`` and no ``nonResourceAttributes`` (a missing ``spec``
included), both, or any ``metadata`` (422 ``Invalid``); a Content-Type other
than ``application/json`` (415). An unknown field is dropped with a
``Warning`` header, as the API server does without ``fieldValidation``.
Creating a review needs no grant of the shipped manifests:
``system:basic-user`` lets every authenticated user. A review is not a use
of a grant nor a refusal in the RBAC report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import rbac
from .api_errors import ApiError

GROUP = "authorization.k8s.io"
API_VERSION = f"{GROUP}/v1"
KIND = "SelfSubjectAccessReview"
JSON = "application/json"

RESOURCE_FIELDS = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
NON_RESOURCE_FIELDS = ("path", "verb")
# Known to 1.31, left out unevaluated while its AuthorizeWithSelectors gate is off.
_UNEVALUATED = ("fieldSelector", "labelSelector")
_OBJECT_META = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)
# Where a value sits -> (the Go struct holding it, its Go type), as a decoding error names them.
_GO = {
    "": ("", "v1.SelfSubjectAccessReview"),
    "spec": (KIND, "v1.SelfSubjectAccessReviewSpec"),
    "metadata": (KIND, "v1.ObjectMeta"),
    "spec.resourceAttributes": ("SelfSubjectAccessReviewSpec", "v1.ResourceAttributes"),
    "spec.nonResourceAttributes": ("SelfSubjectAccessReviewSpec", "v1.NonResourceAttributes"),
}

Review = Callable[[rbac.Attributes], rbac.Decision]


def _cannot_handle(why: str) -> ApiError:
    return ApiError(400, f'{KIND} in version "v1" cannot be handled as a {KIND}: {why}')


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _wrong_type(where: str, value: Any) -> ApiError:
    found = _json_kind(value)
    if where in _GO:
        struct, go_type = _GO[where]
    else:
        struct, go_type = _GO[where.rpartition(".")[0]][1].removeprefix("v1."), "string"
    if not where:
        return _cannot_handle(f"json: cannot unmarshal {found} into Go value of type {go_type}")
    return _cannot_handle(
        f"json: cannot unmarshal {found} into Go struct field {struct}.{where} of type {go_type}"
    )


def _object(value: Any, where: str) -> dict | None:
    """A JSON object (None for absent or null), as Go decodes into a struct pointer."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong_type(where, value)
    return value


def _known(raw: dict, fields: tuple[str, ...], where: str, warnings: list[str]) -> None:
    for key in raw:
        if key not in fields:
            warnings.append(f'unknown field "{f"{where}." if where else ""}{key}"')


def _strings(raw: dict, fields: tuple[str, ...], where: str, warnings: list[str]) -> dict[str, str]:
    _known(raw, (*fields, *_UNEVALUATED) if fields is RESOURCE_FIELDS else fields, where, warnings)
    decoded: dict[str, str] = {}
    for key in fields:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _wrong_type(f"{where}.{key}", value)
        # omitempty: an empty string is not echoed.
        if value:
            decoded[key] = value
    return decoded


def _invalid(field: str, value: str, message: str) -> ApiError:
    body = f"Invalid value: {value}: {message}"
    return ApiError(
        422,
        f'{KIND}.{GROUP} "" is invalid: {field}: {body}',
        "Invalid",
        {
            "group": GROUP,
            "kind": KIND,
            "causes": [{"reason": "FieldValueInvalid", "message": body, "field": field}],
        },
    )


def _go_struct(name: str, fields: tuple[str, ...], values: dict[str, str]) -> str:
    """``%#v`` of decoded attributes, as a validation error shows them."""
    inner = ", ".join(f"{f[:1].upper()}{f[1:]}:{json.dumps(values.get(f, ''))}" for f in fields)
    return f"authorization.{name}{{{inner}}}"


def _set(value: Any) -> bool:
    """Not Go's zero value: what makes ObjectMeta non-empty."""
    return value not in (None, "", 0, {}, [])


def decode(request_body: bytes, content_type: str, warnings: list[str]) -> dict:
    """The review's spec as the API server decodes and validates it."""
    if content_type not in ("", JSON):
        raise ApiError(
            415,
            f"the body of the request was in an unknown format ({content_type}) "
            f"- accepted media types include: {JSON}",
            "UnsupportedMediaType",
        )
    try:
        body = json.loads(request_body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"couldn't get version/kind; json parse error: {exc}") from exc
    except json.JSONDecodeError as exc:
        why = "unexpected end of JSON input" if not request_body.strip() else str(exc)
        raise ApiError(400, f"couldn't get version/kind; json parse error: {why}") from exc
    if not isinstance(body, dict):
        raise _wrong_type("", body)
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if api_version not in (None, "") and api_version != API_VERSION:
        raise ApiError(
            400,
            f"the API version in the data ({api_version}) does not match "
            f"the expected API version ({API_VERSION})",
        )
    if kind not in (None, "") and kind != KIND:
        raise ApiError(400, f"not a {KIND}: the data is a {kind}")
    _known(body, ("apiVersion", "kind", "metadata", "spec", "status"), "", warnings)
    metadata = _object(body.get("metadata"), "metadata") or {}
    _known(metadata, _OBJECT_META, "metadata", warnings)
    spec = _object(body.get("spec"), "spec") or {}
    _known(spec, ("resourceAttributes", "nonResourceAttributes"), "spec", warnings)
    resource = _object(spec.get("resourceAttributes"), "spec.resourceAttributes")
    non_resource = _object(spec.get("nonResourceAttributes"), "spec.nonResourceAttributes")
    decoded: dict[str, Any] = {}
    if resource is not None:
        decoded["resourceAttributes"] = _strings(
            resource, RESOURCE_FIELDS, "spec.resourceAttributes", warnings
        )
    if non_resource is not None:
        decoded["nonResourceAttributes"] = _strings(
            non_resource, NON_RESOURCE_FIELDS, "spec.nonResourceAttributes", warnings
        )
    if resource is not None and non_resource is not None:
        shown = _go_struct("NonResourceAttributes", NON_RESOURCE_FIELDS, decoded["nonResourceAttributes"])
        raise _invalid(
            "spec.nonResourceAttributes", shown, "cannot be specified in combination with resourceAttributes"
        )
    if resource is None and non_resource is None:
        raise _invalid(
            "spec.resourceAttributes",
            '"null"',
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    # managedFields is cleared before the API server compares.
    given = {k: v for k, v in metadata.items() if k in _OBJECT_META and k != "managedFields" and _set(v)}
    if given:
        raise _invalid("metadata", json.dumps(given, separators=(",", ":")), "must be empty")
    return decoded


def attributes(spec: dict) -> rbac.Attributes:
    """What RBAC sees of the review, as the API server builds it from the spec."""
    if "nonResourceAttributes" in spec:
        asked = spec["nonResourceAttributes"]
        return rbac.Attributes(verb=asked.get("verb", ""), path=asked.get("path", ""), resource_request=False)
    asked = spec["resourceAttributes"]
    return rbac.Attributes(
        verb=asked.get("verb", ""),
        path="",
        resource_request=True,
        api_group=asked.get("group", ""),
        api_version=asked.get("version", ""),
        resource=asked.get("resource", ""),
        subresource=asked.get("subresource", ""),
        name=asked.get("name", ""),
        namespace=asked.get("namespace", ""),
    )


def answer(request_body: bytes, content_type: str, review: Review, warnings: list[str]) -> dict:
    """The created review: the spec echoed, the decision in ``status``."""
    spec = decode(request_body, content_type, warnings)
    decision = review(attributes(spec))
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
