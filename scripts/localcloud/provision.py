"""Provision a named environment in the local cloud; set health statuses.

    provision.py provision --name NAME [--regions us-east-1,eu-west-1]
                           [--env KEY=VALUE ...]
                           [--env-file PATH]
    provision.py set-health HEALTH_CHECK_ID_OR_REGION STATUS_SEQUENCE
                            [--name NAME]
    provision.py kube CLUSTER_OR_REGION [SCENARIO_JSON] [--name NAME]
    provision.py emulator [--name NAME] (--endpoint URL | --remove)
    provision.py assume-role FUNCTION [--name NAME]

Usually run through ``scripts/local-cloud provision`` / ``set-health`` /
``kube`` / ``lambda`` / ``assume-role``.

``provision`` creates, idempotently (the same NAME again answers the same
resources; runs for the same NAME are serialised with a lock file):

- DynamoDB table ``NAME-incidents`` in DynamoDB Local, with KeySchema,
  AttributeDefinitions, BillingMode, TimeToLiveSpecification (and indexes,
  if any) of resource ``IncidentTable`` in template.yaml
  (``LOCAL_CLOUD_TEMPLATE`` names another template file);
- SNS topic ``NAME-notices`` in moto and SQS queue ``NAME-notices-inbox``
  subscribed to it (not raw: the queue gets the SNS envelope, with Subject
  and MessageAttributes); the same for the operations topic ``NAME-ops``
  and ``NAME-ops-inbox`` (where ``evaluate-readiness`` tells a changed
  outcome);
- per region, a Route 53 health check (HTTPS, ``platform.<region>.example.test``,
  ``/healthz``, tag ``Name`` = ``NAME-<region>``, tag ``local-cloud:cluster``
  = ``<region>/NAME-<region>``: the cluster whose platform the health value
  ``Platform`` follows);
- per region, the EKS cluster ``NAME-<region>`` in that region (dummy role
  and VPC settings). The launcher gives each new cluster a local Kubernetes
  API (``kubeapi``); a cluster this run created gets the default
  scenario through the admin API (an existing one keeps its scenario);
- the Step Functions state machine ``NAME-recovery`` (role
  ``arn:aws:iam::<account>:role/NAME-recovery``, never used) with the
  definition of resource ``RecoveryWorkflow`` in the template, its
  ``DefinitionSubstitutions`` resolved as CloudFormation does (``${Key}``
  replaced in the definition's JSON text): ``!GetAtt <Function>.Arn`` of an
  ``AWS::Serverless::Function`` is
  ``arn:aws:lambda:us-east-1:<account>:function:NAME-<binary>`` (its
  ``Metadata.BuildProperties.Binary``; the launcher routes that name to the
  environment's Lambda emulator), ``!Ref <Parameter>`` is the parameter's
  ``Default``; anything else is an error. An existing machine gets the
  definition again (``UpdateStateMachine``) when it differs.

- per function of the template (an ``AWS::Serverless::Function`` with
  ``Metadata.BuildProperties.Binary``), the IAM role ``NAME-<binary>`` (the
  function's name; at most 64 characters), trusting Lambda. The functions
  run as these roles: the launcher's credentials endpoint gives each its
  own (see ``launcher.py``);
- per cluster, an access entry per function that reaches Kubernetes, as
  ``scripts/grant-eks-access`` makes them on AWS: ``restore-platform``'s
  role in group ``platform-failover-restore``, ``verify-recovery``'s and
  ``check-derp-peers``' in ``platform-failover-read``, the groups the RBAC
  manifests (``scripts/rbac``) bind; the other functions' roles have none,
  so a cluster refuses them (401). The manifests are checked first: one
  that does not load fails provisioning, naming what is wrong;
- the Lambda function ``NAME-confirm-outage`` in moto (an empty package,
  role ``NAME-confirm-outage``): never invoked there, it holds the resource
  policy that lets the alarms invoke it, as on AWS;
- per region, the CloudWatch alarm ``NAME-<region>-platform-health`` on
  that health check's ``AWS/Route53`` ``HealthCheckStatus`` metric, acting
  on ``NAME-confirm-outage`` (in state OK when created; moto never
  evaluates it nor runs its action, so a test or the drill sets its state
  with the real ``SetAlarmState`` API, as CloudWatch would when the check
  fails, and invokes confirm-outage itself), and the statement of
  confirm-outage's resource policy that lets it invoke the function
  (``lambda:AddPermission``, principal ``lambda.alarms.cloudwatch.amazonaws.com``,
  the alarm as source). ``reconcile`` reads the alarm with
  ``DescribeAlarms``; ``evaluate-readiness`` reads both.

It prints one JSON object on stdout: name, table, topic_arn, queue_url,
ops_topic_arn, ops_queue_url,
regions (each also with ``kube_admin``, the admin API URL of its cluster:
``http://127.0.0.1:<admin port>/clusters/<cluster>``), workflow_arn, roles
(binary -> role ARN), function_env (the function's configuration: REGIONS,
INCIDENT_TABLE, NOTIFY_TOPIC_ARN, RECOVERY_WORKFLOW_ARN, OPS_TOPIC_ARN,
FUNCTION_NAME_PREFIX (``NAME-``: the functions are ``NAME-<binary>``), the endpoint
variables and ``AWS_CONTAINER_CREDENTIALS_FULL_URI``, the credentials
endpoint of the environment; no static credentials, and AWS_CONFIG_FILE /
AWS_SHARED_CREDENTIALS_FILE are /dev/null so that no profile of the machine
stands in for a function's role; then the ``--env`` entries; everything
else keeps the function's own defaults).
``--env-file`` also writes function_env as KEY='VALUE' lines, which a shell
can source and ``cargo lambda watch --env-file`` can read.

``set-health`` writes the health check tag ``local-cloud:status`` (a
sequence of ``Success`` / ``Failure`` / ``Platform``) through Route 53
``ChangeTagsForResource``; a region name is resolved to the health check
that ``provision --name NAME`` made for it.

``kube`` shows a cluster's scenario and a summary of its deployment and
pods; with SCENARIO_JSON it first merges that into the scenario (admin API
``PATCH /clusters/<cluster>/scenario``). A region name stands for the
cluster ``NAME-<region>``.

``emulator`` registers the Lambda runtime emulator at URL for environment
NAME with the launcher (admin API ``PUT /lambda/NAME``), so the workflow's
Lambda tasks for ``NAME-<binary>`` reach it; ``--remove`` forgets it
(``DELETE /lambda/NAME``).

``assume-role`` prints the credentials of function FUNCTION's role in
environment NAME (``AccessKeyId``, ``SecretAccessKey``, ``SessionToken``,
``Expiration``, ``Arn``), from the real STS ``AssumeRole``, as an
administrator gets them: what a test signs an EKS token with to act as that
function.

Endpoints: moto on 127.0.0.1:$LOCAL_CLOUD_MOTO_PORT (4566), DynamoDB Local on
127.0.0.1:$LOCAL_CLOUD_DYNAMODB_PORT (4567), the Kubernetes admin API on
127.0.0.1:$LOCAL_CLOUD_KUBE_ADMIN_PORT (4568); region us-east-1, credentials
``testing``. Ambient AWS_* settings are not used.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shlex
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("LOCAL_CLOUD_STATE", ROOT / ".local-cloud"))

REGION = "us-east-1"
MOTO_PORT = int(os.environ.get("LOCAL_CLOUD_MOTO_PORT", "4566"))
DYNAMODB_PORT = int(os.environ.get("LOCAL_CLOUD_DYNAMODB_PORT", "4567"))
KUBE_ADMIN_PORT = int(os.environ.get("LOCAL_CLOUD_KUBE_ADMIN_PORT", "4568"))
MOTO_URL = f"http://127.0.0.1:{MOTO_PORT}"
DYNAMODB_URL = f"http://127.0.0.1:{DYNAMODB_PORT}"
KUBE_ADMIN_URL = f"http://127.0.0.1:{KUBE_ADMIN_PORT}"

# EKS CreateCluster wants a role and a VPC; the local cloud never uses them.
EKS_ROLE_ARN = "arn:aws:iam::123456789012:role/local-cloud-eks-cluster"
EKS_VPC_CONFIG = {
    "subnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    "securityGroupIds": ["sg-0a1b2c3d4e5f60001"],
    "endpointPublicAccess": True,
    "endpointPrivateAccess": True,
}
EKS_VERSION = "1.31"

ENDPOINT_ENV = {
    "AWS_ENDPOINT_URL": MOTO_URL,
    "AWS_ENDPOINT_URL_DYNAMODB": DYNAMODB_URL,
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    # Each function's own role (launcher.py): static keys and profiles come
    # first in the SDK's chain, so neither is there.
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
CREDENTIALS_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"

# The Kubernetes groups scripts/grant-eks-access maps each function's role
# to (--restore-role-arn, --read-role-arn), bound by scripts/rbac.
KUBERNETES_GROUPS = {
    "restore-platform": ["platform-failover-restore"],
    "verify-recovery": ["platform-failover-read"],
    "check-derp-peers": ["platform-failover-read"],
}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
ROLE_NAME_MAX = 64
SESSION_SECONDS = 3600

DEFAULT_NAME = "platform-failover"
DEFAULT_REGIONS = "us-east-1,eu-west-1"
STATUS_TAG = "local-cloud:status"
STATUS_VALUES = ("Success", "Failure", "Platform")
CLUSTER_TAG = "local-cloud:cluster"
WORKFLOW_RESOURCE = "RecoveryWorkflow"
TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)

# Keep ambient profiles / config out of the way of the dummy credentials.
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)

import boto3  # noqa: E402
import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402
import yaml  # noqa: E402


class Failure(Exception):
    """A problem reported as one line, without a traceback."""


# --- clients ---------------------------------------------------------------

_CONFIG = botocore.config.Config(
    connect_timeout=2,
    read_timeout=20,
    retries={"max_attempts": 2, "mode": "standard"},
)
_session = boto3.session.Session(
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
    region_name=REGION,
)


@functools.cache
def client(service: str, region: str = REGION):  # type: ignore[no-untyped-def]
    url = DYNAMODB_URL if service == "dynamodb" else MOTO_URL
    return _session.client(service, endpoint_url=url, config=_CONFIG, region_name=region)


def admin(method: str, path: str, body: object = None) -> dict:
    """One call to the Kubernetes admin API; Failure with its error."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        KUBE_ADMIN_URL + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as exc:
        try:
            message = json.load(exc).get("error", "")
        except ValueError:
            message = ""
        raise Failure(f"Kubernetes admin API {method} {path}: {exc.code} {message}".rstrip()) from exc
    except OSError as exc:
        raise Failure(
            f"cannot reach the Kubernetes admin API on {KUBE_ADMIN_URL} ({exc}): "
            "is the local cloud up? (scripts/local-cloud up)"
        ) from exc


def error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


@contextlib.contextmanager
def locked(name: str):  # type: ignore[no-untyped-def]
    STATE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    with open(STATE / f"provision-{digest}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# --- template --------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short forms (!Ref, !Sub, ...)."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        value: object = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    key = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {key: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def template_path() -> Path:
    configured = os.environ.get("LOCAL_CLOUD_TEMPLATE")
    return Path(configured) if configured else ROOT / "template.yaml"


def load_template() -> dict:
    path = template_path()
    if not path.is_file():
        raise Failure(
            f"template not found: {path} (the table and the workflow are read from "
            "it; set LOCAL_CLOUD_TEMPLATE to use another file)"
        )
    try:
        document = yaml.load(path.read_text(), Loader=_CfnLoader)
    except yaml.YAMLError as exc:
        raise Failure(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise Failure(f"{path}: not a template (no mapping at the top)")
    return document


def template_resources(document: dict) -> dict:
    """The template's resources by logical id, its ``Fn::ForEach::`` loops
    left out: they hold the per-region alarms, permissions and policies,
    which the local cloud makes for itself, never a function, the workflow
    or the table."""
    resources = document.get("Resources") or {}
    if not isinstance(resources, dict):
        return {}
    return {
        logical: resource
        for logical, resource in resources.items()
        if not logical.startswith("Fn::ForEach::") and isinstance(resource, dict)
    }


def table_properties(document: dict) -> dict:
    path = template_path()
    resource = template_resources(document).get("IncidentTable")
    if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
        raise Failure(f"{path}: no resource IncidentTable with Properties")
    props = resource["Properties"]
    for key in ("AttributeDefinitions", "KeySchema"):
        if key not in props:
            raise Failure(f"{path}: IncidentTable has no {key}")
    return props


def _substitution(document: dict, key: str, value: object, name: str, account: str) -> str:
    """One DefinitionSubstitutions value, as CloudFormation would resolve it."""
    what = f"{WORKFLOW_RESOURCE} DefinitionSubstitutions.{key}"
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        target = value["Fn::GetAtt"]
        if isinstance(target, str):
            logical, _, attribute = target.partition(".")
        else:
            logical, attribute = (list(target) + ["", ""])[:2]
        resource = template_resources(document).get(logical)
        if (
            attribute != "Arn"
            or not isinstance(resource, dict)
            or resource.get("Type") != "AWS::Serverless::Function"
        ):
            raise Failure(
                f"{what}: only !GetAtt <AWS::Serverless::Function>.Arn is resolved locally, not {target!r}"
            )
        binary = ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        if not isinstance(binary, str) or not binary:
            raise Failure(f"{what}: function {logical} has no Metadata.BuildProperties.Binary")
        return f"arn:aws:lambda:{REGION}:{account}:function:{name}-{binary}"
    if isinstance(value, dict) and list(value) == ["Ref"]:
        parameter = (document.get("Parameters") or {}).get(value["Ref"])
        if not isinstance(parameter, dict) or "Default" not in parameter:
            raise Failure(f"{what}: !Ref {value['Ref']} is not a template parameter with a Default")
        default = parameter["Default"]
        return str(default).lower() if isinstance(default, bool) else str(default)
    raise Failure(
        f"{what}: cannot resolve {json.dumps(value)} locally "
        "(a literal, !Ref Parameter or !GetAtt Function.Arn)"
    )


def workflow_definition(document: dict, name: str, account: str) -> tuple[str, str]:
    """(definition JSON with the substitutions made, type) of the workflow resource."""
    path = template_path()
    resource = template_resources(document).get(WORKFLOW_RESOURCE)
    if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
        raise Failure(f"{path}: no resource {WORKFLOW_RESOURCE} with Properties")
    props = resource["Properties"]
    definition = props.get("Definition")
    if not isinstance(definition, dict):
        raise Failure(f"{path}: {WORKFLOW_RESOURCE} has no inline Definition")
    # PyYAML has already resolved the anchors and aliases (&transient, *transient).
    text = json.dumps(definition, indent=2)
    if '"Ref"' in text or '"Fn::' in text:
        raise Failure(
            f"{path}: {WORKFLOW_RESOURCE} Definition: intrinsic functions are not supported here "
            "(use DefinitionSubstitutions)"
        )
    substitutions = props.get("DefinitionSubstitutions") or {}
    if not isinstance(substitutions, dict):
        raise Failure(f"{path}: {WORKFLOW_RESOURCE} DefinitionSubstitutions is not a mapping")
    for key, value in substitutions.items():
        # Replaced inside JSON strings: escape as JSON string content.
        resolved = json.dumps(_substitution(document, key, value, name, account))[1:-1]
        text = text.replace("${" + key + "}", resolved)
    left = sorted(set(re.findall(r"\$\{([^}]*)\}", text)))
    if left:
        raise Failure(
            f"{path}: {WORKFLOW_RESOURCE} Definition uses {', '.join('${' + k + '}' for k in left)}, "
            "which DefinitionSubstitutions does not define"
        )
    return text, str(props.get("Type") or "STANDARD")


def _plain(value: object, what: str) -> object:
    """Reject intrinsic functions where a literal is needed."""
    text = json.dumps(value)
    if '"Ref"' in text or '"Fn::' in text:
        raise Failure(f"IncidentTable {what}: intrinsic functions are not supported here")
    return value


# --- resources -------------------------------------------------------------


def ensure_table(name: str, props: dict) -> str:
    ddb = client("dynamodb")
    table = f"{name}-incidents"
    create = {key: _plain(props[key], key) for key in TABLE_KEYS if key in props}
    create.setdefault("BillingMode", "PAY_PER_REQUEST")
    try:
        ddb.describe_table(TableName=table)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        try:
            ddb.create_table(TableName=table, **create)
        except botocore.exceptions.ClientError as exc2:
            if error_code(exc2) != "ResourceInUseException":
                raise

    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ttl = _plain(ttl, "TimeToLiveSpecification")
        enabled = str(ttl.get("Enabled", False)).lower() == "true"
        spec = {"AttributeName": ttl["AttributeName"], "Enabled": enabled}
        try:
            current = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
            is_on = current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
            if is_on != enabled or (enabled and current.get("AttributeName") != spec["AttributeName"]):
                ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=spec)
        except botocore.exceptions.ClientError as exc:
            code, message = error_code(exc), error_message(exc)
            unsupported = code in ("UnknownOperationException", "UnsupportedOperationException") or (
                "not supported" in message.lower() or "unsupported" in message.lower()
            )
            already = "already enabled" in message.lower()  # lost a race: fine
            if not (unsupported or already):
                raise
            if unsupported:
                print(f"provision: DynamoDB Local has no TTL support ({code}); skipped", file=sys.stderr)
    return table


def ensure_notices(name: str, topic: str = "notices") -> tuple[str, str]:
    """Topic ``NAME-<topic>`` and the queue ``NAME-<topic>-inbox`` subscribed to it."""
    sns, sqs = client("sns"), client("sqs")
    topic_arn = sns.create_topic(Name=f"{name}-{topic}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{name}-{topic}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # SNS does not duplicate a subscription with the same topic/protocol/endpoint.
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "false"},
    )
    return topic_arn, queue_url


def caller_reference(name: str, region: str) -> str:
    reference = f"local-cloud:{name}:{region}"
    if len(reference) > 64:  # Route 53 limit
        reference = "local-cloud:" + hashlib.sha256(f"{name}:{region}".encode()).hexdigest()[:52]
    return reference


def existing_health_checks(route53) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """CallerReference -> health check id."""
    found: dict[str, str] = {}
    for page in route53.get_paginator("list_health_checks").paginate():
        for check in page.get("HealthChecks", []):
            found.setdefault(check["CallerReference"], check["Id"])
    return found


def ensure_health_check(route53, existing: dict[str, str], name: str, region: str, cluster: str) -> str:  # type: ignore[no-untyped-def]
    """The region's health check, tagged with the cluster it guards."""
    reference = caller_reference(name, region)
    health_check_id = existing.get(reference)
    cluster_tag = {"Key": CLUSTER_TAG, "Value": f"{region}/{cluster}"}
    if health_check_id is not None:
        # Made before health checks named their cluster: tag it now.
        tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=health_check_id)
        current = {t["Key"]: t["Value"] for t in tags["ResourceTagSet"].get("Tags", [])}
        if current.get(CLUSTER_TAG) != cluster_tag["Value"]:
            route53.change_tags_for_resource(
                ResourceType="healthcheck", ResourceId=health_check_id, AddTags=[cluster_tag]
            )
    else:
        health_check_id = route53.create_health_check(
            CallerReference=reference,
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": f"platform.{region}.example.test",
                "ResourcePath": "/healthz",
                "Port": 443,
                "RequestInterval": 30,
                "FailureThreshold": 3,
                "EnableSNI": True,
            },
        )["HealthCheck"]["Id"]
        route53.change_tags_for_resource(
            ResourceType="healthcheck",
            ResourceId=health_check_id,
            AddTags=[{"Key": "Name", "Value": f"{name}-{region}"}, cluster_tag],
        )
        existing[reference] = health_check_id
    return health_check_id


def ensure_cluster(name: str, region: str) -> str:
    """EKS cluster NAME-<region> in that region; a new one gets the default scenario."""
    eks = client("eks", region)
    cluster = f"{name}-{region}"
    try:
        eks.describe_cluster(name=cluster)
        return cluster
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    try:
        eks.create_cluster(
            name=cluster,
            version=EKS_VERSION,
            roleArn=EKS_ROLE_ARN,
            resourcesVpcConfig=EKS_VPC_CONFIG,
            tags={"local-cloud:environment": name},
        )
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) == "ResourceInUseException":  # lost a race: it exists
            return cluster
        raise
    admin("PUT", f"/clusters/{cluster}/scenario?region={region}", {})
    return cluster


# A zip archive with no entries (the end-of-central-directory record alone):
# moto stores a function's package without running it.
EMPTY_ZIP = b"PK\x05\x06" + bytes(18)
ALARMS_PRINCIPAL = "lambda.alarms.cloudwatch.amazonaws.com"


def ensure_confirm_outage(name: str, role_arn: str) -> str:
    """The function the alarms act on, in moto: its ARN."""
    lam = client("lambda")
    function = f"{name}-confirm-outage"
    try:
        return lam.get_function_configuration(FunctionName=function)["FunctionArn"]
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    try:
        return lam.create_function(
            FunctionName=function,
            Runtime="provided.al2023",
            Handler="bootstrap",
            Role=role_arn,
            Code={"ZipFile": EMPTY_ZIP},
            Description="local cloud: holds the resource policy the alarms invoke through",
        )["FunctionArn"]
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) != "ResourceConflictException":  # lost a race: it exists
            raise
        return lam.get_function_configuration(FunctionName=function)["FunctionArn"]


def allow_alarm_invoke(function_arn: str, alarm_arn: str, alarm: str) -> None:
    """The template's ``AWS::Lambda::Permission`` for one alarm."""
    try:
        client("lambda").add_permission(
            FunctionName=function_arn,
            StatementId=f"{alarm}-invoke",
            Action="lambda:InvokeFunction",
            Principal=ALARMS_PRINCIPAL,
            SourceArn=alarm_arn,
        )
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) != "ResourceConflictException":  # granted before
            raise


def ensure_alarm(name: str, region: str, health_check_id: str, action_arn: str) -> tuple[str, str]:
    """The region's health alarm, as template.yaml defines it, acting on
    ``action_arn``: its name and ARN. An existing one is kept (with its
    state and actions)."""
    alarm = f"{name}-{region}-platform-health"
    cloudwatch = client("cloudwatch")
    existing = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    if existing:
        return alarm, existing[0]["AlarmArn"]
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/Route53",
        MetricName="HealthCheckStatus",
        Dimensions=[{"Name": "HealthCheckId", "Value": health_check_id}],
        Statistic="Minimum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching",
        ActionsEnabled=True,
        AlarmActions=[action_arn],
    )
    return alarm, cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["AlarmArn"]


def ensure_workflow(name: str, definition: str, workflow_type: str, account: str) -> str:
    """State machine NAME-recovery with this definition; its ARN."""
    sfn = client("stepfunctions")
    machine = f"{name}-recovery"
    role_arn = f"arn:aws:iam::{account}:role/{machine}"
    arn = None
    for page in sfn.get_paginator("list_state_machines").paginate():
        for entry in page.get("stateMachines", []):
            if entry["name"] == machine:
                arn = entry["stateMachineArn"]
    if arn is None:
        try:
            return sfn.create_state_machine(
                name=machine, definition=definition, roleArn=role_arn, type=workflow_type
            )["stateMachineArn"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) != "StateMachineAlreadyExists":
                raise Failure(
                    f"CreateStateMachine {machine}: {error_code(exc)}: {error_message(exc)}"
                ) from exc
            arn = f"arn:aws:states:{REGION}:{account}:stateMachine:{machine}"  # lost a race: it exists
    current = sfn.describe_state_machine(stateMachineArn=arn)
    if current["definition"] != definition or current["roleArn"] != role_arn:
        try:
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
        except botocore.exceptions.ClientError as exc:
            raise Failure(f"UpdateStateMachine {machine}: {error_code(exc)}: {error_message(exc)}") from exc
    return arn


def function_binaries(document: dict) -> list[str]:
    """The binary of every function in the template, in template order."""
    binaries = []
    for resource in template_resources(document).values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        if isinstance(binary, str) and binary:
            binaries.append(binary)
    return binaries


def role_name(name: str, binary: str) -> str:
    role = f"{name}-{binary}"
    if len(role) > ROLE_NAME_MAX:
        raise Failure(
            f"--name {name!r}: the role of function {binary} would be {role} ({len(role)} characters); "
            f"IAM role names (and Lambda function names) have at most {ROLE_NAME_MAX}"
        )
    return role


def ensure_roles(name: str, binaries: list[str]) -> dict[str, str]:
    """Role NAME-<binary> per function, trusting Lambda: binary -> role ARN."""
    iam = client("iam")
    roles = {}
    for binary in binaries:
        role = role_name(name, binary)
        try:
            roles[binary] = iam.get_role(RoleName=role)["Role"]["Arn"]
            continue
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
        try:
            roles[binary] = iam.create_role(
                RoleName=role,
                AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
                Description=f"local cloud: function {binary} of environment {name}",
                Tags=[{"Key": "local-cloud:environment", "Value": name}],
            )["Role"]["Arn"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) != "EntityAlreadyExists":  # lost a race: it exists
                raise
            roles[binary] = iam.get_role(RoleName=role)["Role"]["Arn"]
    return roles


def ensure_access_entries(cluster: str, region: str, roles: dict[str, str]) -> None:
    """Each Kubernetes-reaching function's role in its groups, as grant-eks-access does."""
    for binary, groups in KUBERNETES_GROUPS.items():
        if binary in roles:
            admin(
                "POST",
                f"/clusters/{cluster}/access-entries?region={region}",
                {"principalArn": roles[binary], "kubernetesGroups": groups},
            )


def check_rbac() -> None:
    """The RBAC manifests every new cluster loads: an error here, not a failed CreateCluster."""
    from kubeapi import chart, rbac

    try:
        rbac.load(chart.NAMESPACE, chart.DEPLOYMENT)
    except rbac.RbacError as exc:
        raise Failure(f"RBAC manifests: {exc}") from exc


def env_line(key: str, value: str) -> str:
    # Always quoted: cargo lambda's env-file parser rejects a bare '=' in a value.
    if "'" not in value:
        return f"{key}='{value}'"
    return f"{key}={shlex.quote(value)}"


def provision(args: argparse.Namespace) -> dict:
    name = args.name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}", name):
        raise Failure(f"--name {name!r}: use letters, digits, '-', '_', '.'")
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    if not regions:
        raise Failure("--regions: at least one region")
    extra = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise Failure(f"--env {item!r}: expected KEY=VALUE")
        extra[key] = value

    document = load_template()
    props = table_properties(document)
    binaries = function_binaries(document)
    for binary in binaries:
        role_name(name, binary)
    check_rbac()
    account = client("sts").get_caller_identity()["Account"]
    definition, workflow_type = workflow_definition(document, name, account)
    with locked(name):
        table = ensure_table(name, props)
        topic_arn, queue_url = ensure_notices(name)
        ops_topic_arn, ops_queue_url = ensure_notices(name, "ops")
        roles = ensure_roles(name, binaries)
        confirm_outage = ensure_confirm_outage(name, roles["confirm-outage"])
        route53 = client("route53")
        existing = existing_health_checks(route53)
        region_entries = []
        for region in regions:
            cluster = ensure_cluster(name, region)
            ensure_access_entries(cluster, region, roles)
            health_check_id = ensure_health_check(route53, existing, name, region, cluster)
            alarm, alarm_arn = ensure_alarm(name, region, health_check_id, confirm_outage)
            allow_alarm_invoke(confirm_outage, alarm_arn, alarm)
            region_entries.append(
                {
                    "name": region,
                    "cluster": cluster,
                    "health_check_id": health_check_id,
                    "alarm_names": [alarm],
                }
            )
        workflow_arn = ensure_workflow(name, definition, workflow_type, account)

    # REGIONS is the function's configuration (no extra keys); the printed
    # regions also say where each cluster's admin API is.
    function_env = {
        "REGIONS": json.dumps(region_entries, separators=(",", ":")),
        "INCIDENT_TABLE": table,
        "NOTIFY_TOPIC_ARN": topic_arn,
        "RECOVERY_WORKFLOW_ARN": workflow_arn,
        "OPS_TOPIC_ARN": ops_topic_arn,
        "FUNCTION_NAME_PREFIX": f"{name}-",
    }
    function_env.update(extra)
    function_env.update(ENDPOINT_ENV)
    function_env[CREDENTIALS_URI] = f"{KUBE_ADMIN_URL}/credentials/{name}"

    result = {
        "name": name,
        "table": table,
        "topic_arn": topic_arn,
        "queue_url": queue_url,
        "ops_topic_arn": ops_topic_arn,
        "ops_queue_url": ops_queue_url,
        "regions": [
            {**entry, "kube_admin": f"{KUBE_ADMIN_URL}/clusters/{entry['cluster']}"}
            for entry in region_entries
        ],
        "workflow_arn": workflow_arn,
        "roles": roles,
        "function_env": function_env,
    }
    if args.env_file:
        path = Path(args.env_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text("".join(env_line(k, v) + "\n" for k, v in function_env.items()))
        tmp.replace(path)
    return result


REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")


def set_health(args: argparse.Namespace) -> dict:
    words = [w.strip() for w in args.sequence.split(",")]
    values = []
    for word in words:
        canonical = word.capitalize()
        if canonical not in STATUS_VALUES:
            raise Failure(f"status {word!r}: use a comma-separated list of Success / Failure / Platform")
        values.append(canonical)
    sequence = ",".join(values)

    route53 = client("route53")
    target = args.target
    if REGION_RE.fullmatch(target):
        reference = caller_reference(args.name, target)
        health_check_id = existing_health_checks(route53).get(reference)
        if health_check_id is None:
            raise Failure(
                f"no health check for region {target} in environment {args.name!r} "
                f"(provision it first: scripts/local-cloud provision --name {args.name} --regions {target})"
            )
    else:
        health_check_id = target
        try:
            route53.get_health_check(HealthCheckId=health_check_id)
        except botocore.exceptions.ClientError as exc:
            raise Failure(f"health check {health_check_id}: {error_message(exc)}") from exc

    route53.change_tags_for_resource(
        ResourceType="healthcheck",
        ResourceId=health_check_id,
        AddTags=[{"Key": STATUS_TAG, "Value": sequence}],
    )
    return {"health_check_id": health_check_id, "status": sequence}


def kube(args: argparse.Namespace) -> dict:
    target = args.target
    known = {entry["name"] for entry in admin("GET", "/clusters")["clusters"]}
    # A cluster name first: names like kt-us-east-1 look like regions too.
    cluster = target if target in known or not REGION_RE.fullmatch(target) else f"{args.name}-{target}"
    if args.scenario is not None:
        try:
            patch = json.loads(args.scenario)
        except ValueError as exc:
            raise Failure(f'scenario: not JSON ({exc}); e.g. \'{{"after_restart": "crashloop"}}\'') from exc
        state = admin("PATCH", f"/clusters/{cluster}/scenario", patch)
    else:
        state = admin("GET", f"/clusters/{cluster}/state")
    return {
        "cluster": state["cluster"]["name"],
        "region": state["cluster"]["region"],
        "endpoint": state["cluster"]["endpoint"],
        "scenario": state["scenario"],
        "deployment": state["summary"]["deployment"],
        "pods": state["summary"]["pods"],
    }


def emulator(args: argparse.Namespace) -> dict:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}", args.name):
        raise Failure(f"--name {args.name!r}: use letters, digits, '-', '_', '.'")
    if args.remove:
        return admin("DELETE", f"/lambda/{args.name}")
    return admin("PUT", f"/lambda/{args.name}", {"endpoint": args.endpoint})


def assume_role(args: argparse.Namespace) -> dict:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}", args.name):
        raise Failure(f"--name {args.name!r}: use letters, digits, '-', '_', '.'")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", args.function):
        raise Failure(f"function {args.function!r}: a function's binary name, e.g. restore-platform")
    role = role_name(args.name, args.function)
    try:
        arn = client("iam").get_role(RoleName=role)["Role"]["Arn"]
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        raise Failure(
            f"no role {role}: is {args.function} a function of the template, and environment "
            f"{args.name} provisioned? (scripts/local-cloud provision --name {args.name})"
        ) from exc
    answer = client("sts").assume_role(RoleArn=arn, RoleSessionName=role, DurationSeconds=SESSION_SECONDS)
    credentials = answer["Credentials"]
    return {
        "AccessKeyId": credentials["AccessKeyId"],
        "SecretAccessKey": credentials["SecretAccessKey"],
        "SessionToken": credentials["SessionToken"],
        "Expiration": credentials["Expiration"].isoformat(),
        "Arn": answer["AssumedRoleUser"]["Arn"],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="provision.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("provision", help="create an environment's resources")
    p.add_argument("--name", default=DEFAULT_NAME)
    p.add_argument("--regions", default=DEFAULT_REGIONS, help="comma-separated")
    p.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="extra function variable (repeatable)"
    )
    p.add_argument("--env-file", help="also write function_env as KEY=VALUE lines here")
    p.set_defaults(run=provision)

    s = sub.add_parser("set-health", help="set the local-cloud:status tag of a health check")
    s.add_argument("target", metavar="HEALTH_CHECK_ID_OR_REGION")
    s.add_argument("sequence", metavar="STATUS_SEQUENCE", help="e.g. Failure,Failure,Success")
    s.add_argument("--name", default=DEFAULT_NAME, help="environment a region name refers to")
    s.set_defaults(run=set_health)

    k = sub.add_parser("kube", help="show or merge a cluster's Kubernetes scenario")
    k.add_argument("target", metavar="CLUSTER_OR_REGION")
    k.add_argument("scenario", nargs="?", metavar="SCENARIO_JSON", help="merged into the scenario")
    k.add_argument("--name", default=DEFAULT_NAME, help="environment a region name refers to")
    k.set_defaults(run=kube)

    e = sub.add_parser("emulator", help="register a Lambda runtime emulator for an environment")
    e.add_argument("--name", default=DEFAULT_NAME, help="the environment (functions NAME-<binary>)")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--endpoint", help="the emulator, e.g. http://127.0.0.1:9001")
    what.add_argument("--remove", action="store_true", help="forget the environment's emulator")
    e.set_defaults(run=emulator)

    a = sub.add_parser("assume-role", help="the credentials of a function's role (STS AssumeRole)")
    a.add_argument("function", metavar="FUNCTION", help="a function's binary, e.g. verify-recovery")
    a.add_argument("--name", default=DEFAULT_NAME, help="the environment")
    a.set_defaults(run=assume_role)

    args = parser.parse_args(argv)
    try:
        result = args.run(args)
    except Failure as exc:
        print(f"{args.command}: error: {exc}", file=sys.stderr)
        return 1
    except botocore.exceptions.EndpointConnectionError as exc:
        print(
            f"{args.command}: error: cannot reach {exc.kwargs.get('endpoint_url', 'the local cloud')}: "
            "is the local cloud up? (scripts/local-cloud up)",
            file=sys.stderr,
        )
        return 1
    except botocore.exceptions.ClientError as exc:
        print(f"{args.command}: error: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
