#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth|deploy|destroy --all -c stage=dev|prod``.

This is the only place that reads CDK context and the environment:

* ``-c stage=<dev|prod>`` (default ``dev``) picks the stage config;
* ``-c config.<section>.<field>=<value>`` overrides one config key, e.g.
  ``-c config.model.weights_s3_uri=s3://my-bucket/gpt-oss-20b/``;
* ``CDK_DEFAULT_ACCOUNT`` / ``CDK_DEFAULT_REGION`` (set by the CDK CLI from
  the credentials in use) pin the stacks to an environment; without them
  (no credentials, e.g. CI synth) the templates are environment-agnostic.

A bad value stops synth with one line naming the key, the value and what
is allowed, instead of a stack trace.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk

from stacks.app_builder import build_app
from stacks.config import ConfigError, StageConfig, load_stage

CONFIG_PREFIX = "config."


def config_from_context(context: Mapping[str, Any]) -> StageConfig:
    """The stage config that ``-c stage=...`` and ``-c config.<key>=...`` ask for.

    Raises ConfigError naming the key, the value and what is allowed.
    """
    stage = str(context.get("stage") or "dev")
    overrides = {
        key.removeprefix(CONFIG_PREFIX): value
        for key, value in sorted(context.items())
        if key.startswith(CONFIG_PREFIX)
    }
    return load_stage(stage, overrides)


def main() -> None:
    app = cdk.App()
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    try:
        config = config_from_context(app.node.get_all_context())
        # Some settings are checked against the environment (the judge's geography needs
        # the region), so building the app can raise a configuration error too.
        build_app(app, config=config, env=env, nag=True)
    except ConfigError as error:
        print(f"cdk synth: configuration error: {error}", file=sys.stderr)
        sys.exit(2)
    app.synth()


if __name__ == "__main__":
    main()
