"""Scheduled watchlist reports: off by default; on, a schedule that invokes the agent.

The payload the schedule sends is checked against the agent's own payload
validation and ticker parsing (imported here only: the stacks never import
the agent). The app is synthesized once with the schedule on and cdk-nag on,
and its templates are linted with cfn-lint (``test_cfn_lint``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from stock_agent.contract import WATCHLIST_SOURCES as AGENT_WATCHLIST_SOURCES
from stock_agent.contract import validate_payload
from stock_agent.settings import MAX_TICKERS_PER_REQUEST
from stock_agent.understanding import parsing

from stacks.app_builder import stage_stacks
from stacks.config import ConfigError, load_stage
from stacks.config.schedule import (
    MAX_WATCHLIST_TICKERS,
    WATCHLIST_SOURCES,
    WATCHLIST_TICKER_PATTERN,
)
from stacks.constructs.watchlist_schedule import watchlist_payload
from tests.support.cdk_synth import (
    SCHEDULED_WATCHLIST,
    only,
    resources,
    scheduled_prod_nag_assembly,
    synth_templates,
)

WATCHLIST = SCHEDULED_WATCHLIST


def _text(value: Any) -> str:
    """An ``Fn::Join`` of literals and pseudo-parameter refs as one ``${Ref}`` string."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    sep, parts = value["Fn::Join"]
    return str(sep).join(_text(p) for p in parts)


@pytest.fixture(scope="module")
def scheduled() -> dict[str, dict[str, Any]]:
    # the users' own watchlists as the source: the stack's list is still the prompt
    return synth_templates("dev", schedule__watchlist=WATCHLIST, schedule__watchlist_source="users")


def _input(templates: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the schedule's target, its Input with the runtime ARN token replaced)."""
    _, schedule = only(templates["Runtime"], "AWS::Scheduler::Schedule")
    target = schedule["Properties"]["Target"]
    parts = target["Input"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "<runtime-arn>" for p in parts)
    return target, json.loads(text)


# -- off by default -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_schedule_queue_topic_or_role_by_default(stage: str) -> None:
    templates = synth_templates(stage)
    for kind in ("AWS::Scheduler::Schedule", "AWS::SQS::Queue", "AWS::SNS::Topic"):
        owners = [
            name for name, t in templates.items() if name != "Monitoring" and resources(t, kind)
        ]
        assert owners == [], kind
    assert not load_stage(stage).schedule.enabled
    roles = resources(templates["Iam"], "AWS::IAM::Role")
    # SageMaker, runtime and online evaluation; and the MCP runtime's and gateway's where on
    assert len(roles) == 3 + 2 * load_stage(stage).mcp.enabled


# -- the schedule --------------------------------------------------------------------------


@pytest.mark.slow
def test_schedule_invokes_the_runtime_endpoint_with_retries_and_a_dead_letter_queue(
    scheduled: dict[str, dict[str, Any]],
) -> None:
    config = load_stage("dev", {"schedule.watchlist": WATCHLIST})
    _, schedule = only(scheduled["Runtime"], "AWS::Scheduler::Schedule")
    props = schedule["Properties"]
    assert props["Name"] == config.watchlist_schedule_name
    assert props["ScheduleExpression"] == "cron(30 16 ? * MON-FRI *)"
    assert props["ScheduleExpressionTimezone"] == "America/New_York"
    target, request = _input(scheduled)
    assert target["Arn"]["Fn::Join"][1][-1] == (
        ":scheduler:::aws-sdk:bedrockagentcore:invokeAgentRuntime"
    )
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}
    assert request["AgentRuntimeArn"] == "<runtime-arn>"
    assert request["Qualifier"] == "live"
    assert request["RuntimeSessionId"] == "watchlist-scheduled-run-<aws.scheduler.execution-id>"
    # The schedule lives in the stage's own group, deleted with the stack.
    group_id, group = only(scheduled["Runtime"], "AWS::Scheduler::ScheduleGroup")
    assert props["GroupName"] == {"Ref": group_id} and group_id == "WatchlistScheduleGroup"
    assert group["Properties"]["Name"] == config.watchlist_schedule_group_name
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Delete"
    queue_id, queue = only(scheduled["Runtime"], "AWS::SQS::Queue")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert queue["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs"
    assert queue["Properties"]["QueueName"] == config.watchlist_dead_letter_queue_name
    assert queue["DeletionPolicy"] == "Delete"
    # TLS only
    (policy,) = resources(scheduled["Runtime"], "AWS::SQS::QueuePolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.slow
def test_the_payload_passes_the_agents_own_validation_and_names_the_watchlist(
    scheduled: dict[str, dict[str, Any]],
) -> None:
    _, request = _input(scheduled)
    payload = json.loads(request["Payload"])
    validated = validate_payload(payload)
    assert validated.ignored_keys == ()
    assert validated.notify is True
    assert not validated.stream
    assert validated.watchlist_source == "users"
    assert list(parsing.parse_request(validated.prompt).tickers) == WATCHLIST.split(",")


def test_payload_without_notify_is_a_plain_analysis_request() -> None:
    payload = watchlist_payload(prompt="Analyze SIM_STOCK for investment purposes", notify=False)
    assert payload == {"prompt": "Analyze SIM_STOCK for investment purposes"}
    assert validate_payload(payload).notify is False


def test_users_source_asks_the_agent_for_the_opted_in_watchlists() -> None:
    payload = watchlist_payload(
        prompt="Analyze AAPL, MSFT for investment purposes", notify=True, watchlist_source="users"
    )
    assert payload["scheduled"] == {"watchlist_source": "users"}
    validated = validate_payload(payload)
    assert validated.ignored_keys == ()
    assert validated.watchlist_source == "users"
    assert validated.notify is True
    # the stack's list stays the prompt: the agent's fallback when nobody opted in
    assert list(parsing.parse_request(validated.prompt).tickers) == ["AAPL", "MSFT"]
    # "stack" is today's payload, without the key
    stack = watchlist_payload(prompt="Analyze AAPL", notify=False, watchlist_source="stack")
    assert stack == {"prompt": "Analyze AAPL"}
    assert validate_payload(stack).watchlist_source is None


def test_watchlist_sources_are_the_agents() -> None:
    assert WATCHLIST_SOURCES == AGENT_WATCHLIST_SOURCES


@pytest.mark.parametrize("source", ["stack", "users"])
def test_watchlist_source_accepts_the_two_sources(source: str) -> None:
    config = load_stage("dev", {"schedule.watchlist": "AAPL", "schedule.watchlist_source": source})
    assert config.schedule.watchlist_source == source


@pytest.mark.parametrize("source", ["Users", "user", "", "all"])
def test_watchlist_source_refuses_anything_else_naming_key_and_values(source: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_stage("dev", {"schedule.watchlist": "AAPL", "schedule.watchlist_source": source})
    message = str(err.value)
    assert "schedule.watchlist_source" in message and "stack or users" in message


def test_watchlist_limits_match_the_agents() -> None:
    assert MAX_WATCHLIST_TICKERS == MAX_TICKERS_PER_REQUEST
    for ticker in ("AAPL", "BRK.B", "SIM_STOCK", "RDS_A"):
        assert WATCHLIST_TICKER_PATTERN.fullmatch(ticker)
        assert list(parsing.parse_request(f"Analyze {ticker}").tickers) == [ticker]
    # A full watchlist is one request the agent accepts (its limit is the same).
    five = load_stage("dev", {"schedule.watchlist": "AAPL,MSFT,NVDA,AMZN,GOOGL"}).schedule
    assert parsing.parse_request(five.prompt()).tickers == five.watchlist


@pytest.mark.slow
def test_role_may_invoke_exactly_this_runtime_and_send_to_its_queue(
    scheduled: dict[str, dict[str, Any]],
) -> None:
    config = load_stage("dev", {"schedule.watchlist": WATCHLIST})
    _, schedule = only(scheduled["Runtime"], "AWS::Scheduler::Schedule")
    export = schedule["Properties"]["Target"]["RoleArn"]["Fn::ImportValue"]
    assert "WatchlistScheduleRole" in export
    roles = resources(scheduled["Iam"], "AWS::IAM::Role")
    (role,) = [r for name, r in roles.items() if name.startswith("WatchlistScheduleRole")]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # Scheduler reports the schedule GROUP's ARN as aws:SourceArn, never the schedule's.
    assert _text(trust["Condition"]["ArnEquals"]["aws:SourceArn"]) == (
        "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:"
        f"schedule-group/{config.watchlist_schedule_group_name}"
    )
    # ... the very group the schedule is created in (the Runtime stack's literal name).
    _, group = only(scheduled["Runtime"], "AWS::Scheduler::ScheduleGroup")
    assert _text(trust["Condition"]["ArnEquals"]["aws:SourceArn"]).endswith(
        ":schedule-group/" + group["Properties"]["Name"]
    )
    (policy,) = role["Properties"]["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"InvokeAgentRuntime", "DeadLetter"}
    invoke = statements["InvokeAgentRuntime"]
    assert invoke["Action"] == "bedrock-agentcore:InvokeAgentRuntime"
    tails = [r["Fn::Join"][1][-1] for r in invoke["Resource"]]
    assert tails == [
        f":runtime/{config.runtime_name}-*",
        f":runtime/{config.runtime_name}-*/runtime-endpoint/live",
    ]
    dead_letter = statements["DeadLetter"]
    assert dead_letter["Action"] == "sqs:SendMessage"
    assert dead_letter["Resource"]["Fn::Join"][1][-1] == (
        f":{config.watchlist_dead_letter_queue_name}"
    )


@pytest.mark.slow
def test_dead_letters_page_through_the_alarm_topic(scheduled: dict[str, dict[str, Any]]) -> None:
    alarms = resources(scheduled["Monitoring"], "AWS::CloudWatch::Alarm")
    (alarm,) = [a for name, a in alarms.items() if name.startswith("AlarmsWatchlistDeadLetters")]
    props = alarm["Properties"]
    assert (props["Namespace"], props["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert props["Threshold"] == 1
    assert props["AlarmActions"] and props["AlarmActions"] == props["OKActions"]


@pytest.mark.slow
def test_runtime_may_publish_to_exactly_the_report_topic(
    scheduled: dict[str, dict[str, Any]],
) -> None:
    config = load_stage("dev", {"schedule.watchlist": WATCHLIST})
    _, topic = only(scheduled["Bucket"], "AWS::SNS::Topic")
    assert topic["Properties"]["TopicName"] == config.report_topic_name
    # The AWS-managed SNS key, by alias ARN: no key policy or KMS grant of ours needed.
    assert topic["Properties"]["KmsMasterKeyId"]["Fn::Join"][1][-1] == ":alias/aws/sns"
    runtime_roles = resources(scheduled["Iam"], "AWS::IAM::Role")
    (role,) = [r for name, r in runtime_roles.items() if name.startswith("RuntimeExecutionRole")]
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (publish,) = [s for s in statements if s.get("Sid") == "PublishRunNotifications"]
    assert publish["Action"] == "sns:Publish"
    assert publish["Resource"]["Fn::Join"][1][-1] == f":{config.report_topic_name}"
    _, runtime = only(scheduled["Runtime"], "AWS::BedrockAgentCore::Runtime")
    env = runtime["Properties"]["EnvironmentVariables"]
    assert env["NOTIFY_TOPIC_ARN"]["Fn::Join"][1][-1] == f":{config.report_topic_name}"


@pytest.mark.slow
def test_notify_off_makes_no_topic_and_grants_no_publish() -> None:
    templates = synth_templates("dev", schedule__watchlist=WATCHLIST, schedule__notify="false")
    assert not resources(templates["Bucket"], "AWS::SNS::Topic")
    _, request = _input(templates)
    assert "notify" not in json.loads(request["Payload"])
    assert "PublishRunNotifications" not in json.dumps(templates["Iam"])


# -- config edges --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"schedule.watchlist": "aapl"}, "schedule.watchlist='aapl'"),
        ({"schedule.watchlist": "A,B,C,D,E,F"}, "schedule.watchlist='A,B,C,D,E,F'"),
        ({"schedule.watchlist": "AAPL,AAPL"}, "schedule.watchlist='AAPL,AAPL'"),
        ({"schedule.expression": "cron(0 22 * * ?)"}, "schedule.expression"),
        ({"schedule.expression": "rate(1 hours)"}, "schedule.expression"),
        ({"schedule.expression": "rate(0 minutes)"}, "schedule.expression"),
        ({"schedule.expression": "at(2026-12-01T10:00:00)"}, "schedule.expression"),
        ({"schedule.timezone": "Mars/Olympus_Mons"}, "schedule.timezone"),
        ({"schedule.timezone": "../etc/passwd"}, "schedule.timezone"),
        ({"schedule.retry_attempts": "186"}, "schedule.retry_attempts=186"),
        ({"schedule.max_event_age_seconds": "59"}, "schedule.max_event_age_seconds=59"),
        ({"schedule.max_event_age_seconds": "86401"}, "schedule.max_event_age_seconds"),
    ],
)
def test_bad_schedule_settings_name_the_key(overrides: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.").replace("(", r"\(")):
        load_stage("dev", overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"schedule.watchlist": "AAPL,MSFT,NVDA,AMZN,GOOGL"},
        {"schedule.watchlist": "AAPL", "schedule.expression": "rate(1 hour)"},
        {"schedule.watchlist": "AAPL", "schedule.expression": "rate(15 minutes)"},
        {"schedule.watchlist": "AAPL", "schedule.expression": "cron(0 8 * * ? *)"},
        {"schedule.watchlist": "AAPL", "schedule.timezone": "UTC"},
        {"schedule.watchlist": "AAPL", "schedule.retry_attempts": "0"},
        {"schedule.watchlist": "AAPL", "schedule.retry_attempts": "185"},
        {"schedule.watchlist": "AAPL", "schedule.max_event_age_seconds": "60"},
        {"schedule.watchlist": "AAPL", "schedule.max_event_age_seconds": "86400"},
    ],
)
def test_schedule_edges_are_accepted(overrides: dict[str, str]) -> None:
    assert load_stage("dev", overrides).schedule.enabled


# -- nag with the schedule on (cfn-lint lints these templates too: test_cfn_lint) ----------


@pytest.mark.slow
def test_app_with_the_schedule_is_nag_clean() -> None:
    """cdk-nag on, prod, schedule and notifications on: no finding left unacknowledged."""
    outdir, templates = scheduled_prod_nag_assembly()  # a finding raises ValidationFailed
    assert sorted(templates) == sorted(stage_stacks(load_stage("prod")))
    assert resources(templates["Runtime"], "AWS::Scheduler::Schedule")
    # cdk-nag reports only violations (a passing run and a run without it both write []);
    # that it runs at all is shown by test_nag_plugin_rejects_an_unacknowledged_finding.
    report = json.loads((outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == []
