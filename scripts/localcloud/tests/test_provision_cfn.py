"""provision.py reads template.yaml as CloudFormation would: short-form tags,
DefinitionSubstitutions, and the recovery workflow built from it; the
template's per-region loop (Fn::ForEach) is passed over."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import provision  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "123456789012"


def load(text: str) -> object:
    return yaml.load(text, Loader=provision._CfnLoader)


# --- _CfnLoader ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!Ref ConfirmSamples", {"Ref": "ConfirmSamples"}),
        ("!Sub 'arn:${AWS::Partition}:sns'", {"Fn::Sub": "arn:${AWS::Partition}:sns"}),
        (
            "!Sub ['${A}-x', {A: !Ref B}]",
            {"Fn::Sub": ["${A}-x", {"A": {"Ref": "B"}}]},
        ),
        ("!GetAtt RestorePlatformFunction.Arn", {"Fn::GetAtt": "RestorePlatformFunction.Arn"}),
        ("!GetAtt [RestorePlatformFunction, Arn]", {"Fn::GetAtt": ["RestorePlatformFunction", "Arn"]}),
        (
            "!If [IsDry, !Ref A, !Join ['-', [a, b]]]",
            {"Fn::If": ["IsDry", {"Ref": "A"}, {"Fn::Join": ["-", ["a", "b"]]}]},
        ),
        ("!Equals [!Ref DryRun, 'true']", {"Fn::Equals": [{"Ref": "DryRun"}, "true"]}),
    ],
)
def test_short_forms_become_the_long_forms(text: str, expected: object) -> None:
    assert load(text) == expected


def test_anchors_and_aliases_are_resolved_by_the_loader() -> None:
    document = load("a: &retry [{ErrorEquals: [X], MaxAttempts: 2}]\nb: *retry\n")
    assert document == {
        "a": [{"ErrorEquals": ["X"], "MaxAttempts": 2}],
        "b": [{"ErrorEquals": ["X"], "MaxAttempts": 2}],
    }


def test_the_plain_safe_loader_is_left_unchanged() -> None:
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load("!Ref X")


# --- one DefinitionSubstitutions value ---------------------------------------

# A per-region loop as the template has one: [identifier, collection,
# fragment], a list where every other resource is a mapping. The function in
# it is no function of the environment (the real loop holds none).
LOOP = [
    "Region",
    {"Ref": "Regions"},
    {
        "Alarm&{Region}": {"Type": "AWS::CloudWatch::Alarm"},
        "Looped&{Region}": {
            "Type": "AWS::Serverless::Function",
            "Metadata": {"BuildProperties": {"Binary": "looped"}},
        },
    },
]

DOCUMENT = {
    "Parameters": {
        "Seconds": {"Type": "Number", "Default": 30},
        "Dry": {"Type": "String", "Default": True},
        "NoDefault": {"Type": "String"},
    },
    "Resources": {
        "RestoreFunction": {
            "Type": "AWS::Serverless::Function",
            "Metadata": {"BuildProperties": {"Binary": "restore-platform"}},
        },
        "Unbuilt": {"Type": "AWS::Serverless::Function"},
        "Table": {"Type": "AWS::DynamoDB::Table"},
        "Fn::ForEach::EachRegion": LOOP,
    },
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("literal", "literal"),
        (45, "45"),
        (1.5, "1.5"),
        ({"Ref": "Seconds"}, "30"),
        # CloudFormation passes a boolean parameter as lower-case text.
        ({"Ref": "Dry"}, "true"),
        (
            {"Fn::GetAtt": "RestoreFunction.Arn"},
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:env-restore-platform",
        ),
        (
            {"Fn::GetAtt": ["RestoreFunction", "Arn"]},
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:env-restore-platform",
        ),
    ],
)
def test_a_substitution_resolves_as_cloudformation_would(value: object, expected: str) -> None:
    assert provision._substitution(DOCUMENT, "Key", value, "env", ACCOUNT) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Ref": "Missing"}, "!Ref Missing is not a template parameter with a Default"),
        ({"Ref": "NoDefault"}, "!Ref NoDefault is not a template parameter with a Default"),
        ({"Fn::GetAtt": "Table.Arn"}, "only !GetAtt <AWS::Serverless::Function>.Arn"),
        ({"Fn::GetAtt": "RestoreFunction.Name"}, "only !GetAtt <AWS::Serverless::Function>.Arn"),
        ({"Fn::GetAtt": "Unbuilt.Arn"}, "function Unbuilt has no Metadata.BuildProperties.Binary"),
        ({"Fn::GetAtt": "Fn::ForEach::EachRegion.Arn"}, "only !GetAtt <AWS::Serverless::Function>.Arn"),
        ({"Fn::GetAtt": "Looped&{Region}.Arn"}, "only !GetAtt <AWS::Serverless::Function>.Arn"),
        ({"Fn::Sub": "${X}"}, "cannot resolve"),
        (True, "cannot resolve"),
    ],
)
def test_a_substitution_that_cannot_be_resolved_names_key_and_reason(value: object, message: str) -> None:
    with pytest.raises(provision.Failure) as failure:
        provision._substitution(DOCUMENT, "Key", value, "env", ACCOUNT)
    assert "RecoveryWorkflow DefinitionSubstitutions.Key" in str(failure.value)
    assert message in str(failure.value)


# --- workflow_definition on a small template ---------------------------------


def workflow_document(definition: dict, substitutions: dict | None = None, **props: object) -> dict:
    document = json.loads(json.dumps(DOCUMENT))
    document["Resources"]["RecoveryWorkflow"] = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {"Definition": definition, "DefinitionSubstitutions": substitutions or {}, **props},
    }
    return document


def test_substitutions_are_made_inside_the_definition_json() -> None:
    document = workflow_document(
        {
            "StartAt": "Restore",
            "States": {
                "Restore": {"Type": "Task", "Resource": "${RestoreArn}", "Next": "Wait"},
                "Wait": {"Type": "Wait", "Seconds": "${Seconds}", "Comment": "say ${Quote}", "End": True},
            },
        },
        {
            "RestoreArn": {"Fn::GetAtt": "RestoreFunction.Arn"},
            "Seconds": {"Ref": "Seconds"},
            "Quote": 'a "b"',
        },
        Type="EXPRESS",
    )
    text, workflow_type = provision.workflow_definition(document, "env", ACCOUNT)
    states = json.loads(text)["States"]
    assert workflow_type == "EXPRESS"
    assert (
        states["Restore"]["Resource"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:env-restore-platform"
    )
    assert states["Wait"]["Seconds"] == "30"
    # A value with quotes stays valid JSON: it is escaped as string content.
    assert states["Wait"]["Comment"] == 'say a "b"'


def test_the_type_defaults_to_standard() -> None:
    document = workflow_document({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    assert provision.workflow_definition(document, "env", ACCOUNT)[1] == "STANDARD"


def test_a_placeholder_without_its_substitution_is_named() -> None:
    document = workflow_document(
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Nowhere}", "End": True}}},
        {"Other": "x"},
    )
    with pytest.raises(
        provision.Failure, match=r"uses \$\{Nowhere\}, which DefinitionSubstitutions does not define"
    ):
        provision.workflow_definition(document, "env", ACCOUNT)


def test_an_intrinsic_function_inside_the_definition_is_refused() -> None:
    document = workflow_document(
        {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": {"Ref": "Seconds"}, "End": True}}}
    )
    with pytest.raises(provision.Failure, match="intrinsic functions are not supported here"):
        provision.workflow_definition(document, "env", ACCOUNT)


def test_a_template_without_the_workflow_is_refused() -> None:
    with pytest.raises(provision.Failure, match="no resource RecoveryWorkflow with Properties"):
        provision.workflow_definition(DOCUMENT, "env", ACCOUNT)


def test_a_loop_is_passed_over_where_the_functions_the_workflow_and_the_table_are_read() -> None:
    document = workflow_document(
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${RestoreArn}", "End": True}}},
        {"RestoreArn": {"Fn::GetAtt": "RestoreFunction.Arn"}},
    )
    document["Resources"]["IncidentTable"] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {"AttributeDefinitions": [], "KeySchema": []},
    }
    assert "Fn::ForEach::EachRegion" in document["Resources"]
    assert "Fn::ForEach::EachRegion" not in provision.template_resources(document)
    assert provision.function_binaries(document) == ["restore-platform"]
    text, _ = provision.workflow_definition(document, "env", ACCOUNT)
    assert json.loads(text)["States"]["A"]["Resource"].endswith(":function:env-restore-platform")
    assert provision.table_properties(document)["KeySchema"] == []


@pytest.mark.parametrize("resources", [None, [], "x"])
def test_a_template_whose_resources_are_no_mapping_has_none(resources: object) -> None:
    assert provision.template_resources({"Resources": resources}) == {}
    assert provision.function_binaries({"Resources": resources}) == []


# --- the real template ---------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict:
    return provision.load_template()


@pytest.fixture(scope="module")
def workflow(template: dict) -> dict:
    text, workflow_type = provision.workflow_definition(template, "env", ACCOUNT)
    assert workflow_type == "STANDARD"
    assert "${" not in text
    return json.loads(text)


def binaries() -> set[str]:
    return {main.parent.parent.name for main in (ROOT / "functions").glob("*/src/main.rs")}


def test_every_lambda_task_calls_a_function_of_the_environment_that_exists(workflow: dict) -> None:
    arn = re.compile(rf"arn:aws:lambda:us-east-1:{ACCOUNT}:function:env-(?P<binary>[a-z-]+)")
    called = {}
    for name, state in workflow["States"].items():
        if state["Type"] == "Task":
            # The approval wait is the callback pattern; every other task waits for the answer.
            pattern = ".waitForTaskToken" if name == "AwaitApproval" else ""
            assert state["Resource"] == f"arn:aws:states:::lambda:invoke{pattern}", name
            match = arn.fullmatch(state["Parameters"]["FunctionName"])
            assert match, f"{name}: {state['Parameters']['FunctionName']}"
            called[name] = match["binary"]
    assert called == {
        "Restore": "restore-platform",
        "Verify": "verify-recovery",
        "CheckDerpPeers": "check-derp-peers",
        "Escalate": "escalate-incident",
        "AwaitApproval": "approve-remedy",
    }
    assert set(called.values()) <= binaries()


def test_every_transition_names_a_state_that_exists(workflow: dict) -> None:
    # moto does not check this at CreateStateMachine; AWS does.
    states = workflow["States"]
    assert workflow["StartAt"] in states
    targets = []
    for state in states.values():
        targets += [state[key] for key in ("Next", "Default") if key in state]
        targets += [choice["Next"] for choice in state.get("Choices", [])]
        targets += [catch["Next"] for catch in state.get("Catch", [])]
    assert targets
    assert sorted(set(targets) - set(states)) == []


def test_the_default_timing_is_the_template_parameters_defaults(workflow: dict, template: dict) -> None:
    defaults = {name: str(p["Default"]) for name, p in template["Parameters"].items() if "Default" in p}
    timing = workflow["States"]["DefaultTiming"]["Parameters"]
    assert timing == {
        "settle_seconds.$": f"States.StringToJson('{defaults['RolloutSettleSeconds']}')",
        "poll_seconds.$": f"States.StringToJson('{defaults['VerifyPollSeconds']}')",
        "deadline_seconds.$": f"States.StringToJson('{defaults['VerifyDeadlineSeconds']}')",
    }


def test_the_transient_retry_anchor_is_copied_into_every_step_but_escalate(workflow: dict) -> None:
    states = workflow["States"]
    retries = {name: states[name]["Retry"] for name in ("Restore", "Verify", "CheckDerpPeers")}
    assert retries["Restore"] == retries["Verify"] == retries["CheckDerpPeers"]
    assert retries["Restore"][0]["ErrorEquals"][:2] == ["UpstreamUnavailable", "ConcurrentUpdate"]
    # Escalating retries everything: it is the last step that tells people.
    assert states["Escalate"]["Retry"][0]["ErrorEquals"] == ["States.ALL"]


def test_the_per_region_loop_holds_no_function_workflow_or_table(template: dict) -> None:
    loops = {k: v for k, v in template["Resources"].items() if k.startswith("Fn::ForEach::")}
    assert loops, "the per-region resources are a loop over Regions"
    for name, (_identifier, collection, fragment) in loops.items():
        assert collection == {"Ref": "Regions"}, name
        kinds = {resource["Type"] for resource in fragment.values()}
        assert not {k for k in kinds if k.startswith("AWS::Serverless::")}, name
        assert "AWS::DynamoDB::Table" not in kinds, name
    assert sorted(provision.function_binaries(template)) == sorted(binaries())


def test_the_incident_table_is_read_from_the_template(template: dict) -> None:
    props = provision.table_properties(template)
    assert {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    assert props["TimeToLiveSpecification"]["Enabled"] in (True, "true")


def test_a_missing_template_names_the_variable_that_points_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOCAL_CLOUD_TEMPLATE", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(provision.Failure, match="template not found: .*nowhere.yaml .*LOCAL_CLOUD_TEMPLATE"):
        provision.load_template()


def test_a_template_that_is_not_a_mapping_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    monkeypatch.setenv("LOCAL_CLOUD_TEMPLATE", str(path))
    with pytest.raises(provision.Failure, match="not a template"):
        provision.load_template()


# --- small helpers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("plain", "K='plain'"),
        ('[{"a":"b=c"}]', """K='[{"a":"b=c"}]'"""),
        ("it's", """K='it'"'"'s'"""),
    ],
)
def test_env_lines_are_always_quoted(value: str, line: str) -> None:
    assert provision.env_line("K", value) == line


def test_a_long_caller_reference_is_hashed_to_route53s_limit() -> None:
    assert provision.caller_reference("env", "us-east-1") == "local-cloud:env:us-east-1"
    long = provision.caller_reference("x" * 80, "us-east-1")
    assert len(long) == 64
    assert long.startswith("local-cloud:")
    assert long != provision.caller_reference("x" * 80, "eu-west-1")
