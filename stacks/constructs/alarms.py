"""Paging alarms and the encrypted SNS topic they notify.

Five alarms, each on a symptom a user would notice: the model answers with
5xx, model calls fail or time out, the model is slow (p90), the agent
runtime fails server-side, a report could not be stored. SageMaker cuts a
real-time call off at 60 s: such a call leaves no ``ModelLatency`` sample
but counts in ``InvocationModelErrors``, so the errors alarm is the one
that sees calls too slow to finish, and the latency threshold stays well
below 60 s (validated) so the p90 alarm can fire before that. Missing data
counts as "not breaching" everywhere: a scaled-to-zero dev endpoint
publishes nothing and must not page anyone.

The topic is encrypted with a customer-managed KMS key because the
AWS-managed ``alias/aws/sns`` key cannot grant CloudWatch the right to
encrypt messages, so alarms would silently fail to publish. The key and the
topic both name CloudWatch with ``aws:SourceAccount``/``aws:SourceArn``
conditions (confused-deputy protection). The key is scheduled for deletion
on ``cdk destroy`` (7-day window, not billed while pending): SNS messages
are transient, nothing stays encrypted under it.
"""

from __future__ import annotations

import logging

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.arns import all_of_kind
from stacks.config import AlarmConfig
from stacks.metrics import AgentMetrics, ModelMetrics, RuntimeMetrics

logger = logging.getLogger(__name__)

CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"


class AlarmTopic(Construct):
    """KMS-encrypted, TLS-only SNS topic with an optional e-mail subscription."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, email: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        alarm_arns = all_of_kind(stack, service="cloudwatch", resource="alarm")
        from_our_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": alarm_arns},
        }

        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the stock-agent {stage} alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToEncrypt",
                principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy "*" means this key
                conditions=from_our_alarms,
            )
        )

        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"stock-agent {stage} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=from_our_alarms,
            )
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.action = cw_actions.SnsAction(self.topic)


class OperationsAlarms(Construct):
    """The paging alarms of one stage, all sending ALARM and OK to ``topic``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AlarmConfig,
        model_metrics: ModelMetrics,
        runtime_metrics: RuntimeMetrics,
        agent_metrics: AgentMetrics,
        topic: AlarmTopic,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._topic = topic
        period = Duration.seconds(config.period_seconds)
        minutes = config.period_seconds // 60
        at_least = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        above = cw.ComparisonOperator.GREATER_THAN_THRESHOLD

        self.endpoint_5xx_rate = self._alarm(
            "Endpoint5xxRate",
            description=(
                f"Model endpoint: more than {config.endpoint_5xx_rate_percent:g}% of requests to "
                f"{model_metrics.component_name} answered 5xx over {minutes} min."
            ),
            metric=model_metrics.error_rate_percent(period=period),
            threshold=config.endpoint_5xx_rate_percent,
            comparison=above,
        )
        self.model_latency_p90 = self._alarm(
            "ModelLatencyP90",
            description=(
                f"Model endpoint: p90 ModelLatency above {config.model_latency_p90_seconds:g} s "
                f"over {minutes} min (the metric is in microseconds)."
            ),
            metric=model_metrics.invocation("ModelLatency", statistic="p90", period=period),
            threshold=config.model_latency_p90_seconds * 1_000_000,
            comparison=above,
        )
        self.model_invocation_errors = self._alarm(
            "ModelInvocationErrors",
            description=(
                f"Model endpoint: {config.model_invocation_errors} or more calls to "
                f"{model_metrics.component_name} got no valid answer in {minutes} min "
                "(InvocationModelErrors: error answers, broken connections, 60 s timeouts)."
            ),
            metric=model_metrics.invocation("InvocationModelErrors", period=period),
            threshold=config.model_invocation_errors,
            comparison=at_least,
        )
        self.runtime_errors = self._alarm(
            "RuntimeSystemErrors",
            description=(
                f"Agent runtime: {config.runtime_system_errors} or more server-side errors "
                f"in {minutes} min (the agent crashed or timed out)."
            ),
            metric=runtime_metrics.system_errors(period=period),
            threshold=config.runtime_system_errors,
            comparison=at_least,
        )
        # Only with a watchlist schedule: a run that failed after every retry.
        self.watchlist_dead_letters: cw.Alarm | None = None
        if dead_letter_queue is not None:
            self.watchlist_dead_letters = self._alarm(
                "WatchlistDeadLetters",
                description=(
                    "Watchlist schedule: a scheduled report run failed after every retry "
                    "and was sent to the dead-letter queue (read it for the error)."
                ),
                metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=period, statistic="Maximum"
                ),
                threshold=1,
                comparison=at_least,
            )
        self.report_upload_failures = self._alarm(
            "ReportUploadFailures",
            description=(
                f"Agent: {config.report_upload_failures} or more PDF reports could not be "
                f"stored in {minutes} min (StockAgent/ReportUploadFailures)."
            ),
            metric=agent_metrics.report_upload_failures(period=period),
            threshold=config.report_upload_failures,
            comparison=at_least,
        )

    def _alarm(
        self,
        construct_id: str,
        *,
        description: str,
        metric: cw.IMetric,
        threshold: float,
        comparison: cw.ComparisonOperator,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=self._config.evaluation_periods,
            datapoints_to_alarm=self._config.evaluation_periods,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._topic.action)
        alarm.add_ok_action(self._topic.action)
        logger.debug("alarm %s: %s", construct_id, description)
        return alarm

    @property
    def all(self) -> list[cw.Alarm]:
        """The paging alarms, in dashboard order."""
        return [
            self.endpoint_5xx_rate,
            self.model_invocation_errors,
            self.model_latency_p90,
            self.runtime_errors,
            self.report_upload_failures,
            *([self.watchlist_dead_letters] if self.watchlist_dead_letters else []),
        ]
