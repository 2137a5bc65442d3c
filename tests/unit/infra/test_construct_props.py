"""Constructs take narrow, typed, keyword-only props: never the whole stage config.

Reads the constructor signatures of every construct in ``stacks/constructs``:
after ``scope`` and ``construct_id`` every parameter is keyword-only and
annotated, and none is a :class:`~stacks.config.StageConfig`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from constructs import Construct

import stacks.constructs


def _construct_classes() -> list[type[Construct]]:
    found = []
    for module_info in pkgutil.iter_modules(stacks.constructs.__path__):
        module = importlib.import_module(f"stacks.constructs.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Construct) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def test_every_construct_takes_keyword_only_typed_props_and_no_stage_config() -> None:
    classes = _construct_classes()
    assert {c.__name__ for c in classes} >= {
        "ReportBucket",
        "ModelEndpoint",
        "AgentRuntime",
        "ServiceLogGroups",
        "InferenceComponentAutoscaling",
        "AlarmTopic",
        "OperationsAlarms",
        "OperationsDashboard",
    }
    for cls in classes:
        params = list(inspect.signature(cls.__init__).parameters.values())
        assert [p.name for p in params[:3]] == ["self", "scope", "construct_id"], cls
        props = params[3:]
        assert props, f"{cls.__name__} has no props"
        for param in props:
            where = f"{cls.__name__}.{param.name}"
            assert param.kind is inspect.Parameter.KEYWORD_ONLY, where
            assert param.annotation is not inspect.Parameter.empty, where
            assert "StageConfig" not in str(param.annotation), where
