"""Constructs and stacks take narrow, typed, keyword-only props: never the whole stage config.

Reads the constructor signatures of every construct under ``stacks/constructs``
(the roles included) and of every stack: after ``scope`` and ``construct_id``
every parameter is keyword-only and annotated, and none is a
:class:`~stacks.config.StageConfig` (a stack may add ``**kwargs``: the
``StackProps`` it passes through to CDK).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

from aws_cdk import Stack
from constructs import Construct

import stacks
import stacks.constructs


def _modules(package: ModuleType) -> list[ModuleType]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
    ]


def _defined(modules: list[ModuleType], base: type) -> list[type]:
    return [
        cls
        for module in modules
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, base) and cls.__module__ == module.__name__
    ]


def _assert_narrow_keyword_props(cls: type, *, allow_kwargs: bool) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())  # type: ignore[misc]
    assert [p.name for p in params[:3]] == ["self", "scope", "construct_id"], cls
    props = params[3:]
    assert props, f"{cls.__name__} has no props"
    for param in props:
        where = f"{cls.__name__}.{param.name}"
        if allow_kwargs and param.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, where
        assert param.annotation is not inspect.Parameter.empty, where
        assert "StageConfig" not in str(param.annotation), where


def test_every_construct_takes_keyword_only_typed_props_and_no_stage_config() -> None:
    classes = _defined(_modules(stacks.constructs), Construct)
    assert {c.__name__ for c in classes} >= {
        "ReportBucket",
        "ModelEndpoint",
        "AgentRuntime",
        "ServiceLogGroups",
        "InferenceComponentAutoscaling",
        "AlarmTopic",
        "OperationsAlarms",
        "OperationsDashboard",
        "OnlineAgentEvaluation",
        "SageMakerExecutionRole",
        "RuntimeExecutionRole",
        "EvaluationExecutionRole",
        "WatchlistScheduleRole",
        "TrainingJobRole",
        "McpRuntimeRole",
        "McpGatewayRole",
        "McpGateway",
        "GatewayClients",
    }
    for cls in classes:
        _assert_narrow_keyword_props(cls, allow_kwargs=False)


def test_every_stack_takes_keyword_only_typed_props_and_no_stage_config() -> None:
    modules = [importlib.import_module(f"stacks.{info.name}") for info in pkgutil.iter_modules(
        stacks.__path__) if info.name.endswith("_stack")]  # fmt: skip
    classes = _defined(modules, Stack)
    assert len(classes) == 9, [c.__name__ for c in classes]
    for cls in classes:
        _assert_narrow_keyword_props(cls, allow_kwargs=True)
