"""Images: the two container images built from this repository.

``model_container/`` (vLLM, linux/amd64: SageMaker GPU hosts are x86) and
``agent_runtime/`` (linux/arm64: AgentCore Runtime only runs arm64). Both
are CDK Docker image assets: ``cdk deploy`` builds them and pushes them to
the CDK bootstrap container-assets repository, tagged with the hash of
their sources, before any stack that uses them deploys.

Why a stack of its own: it is the first deployment unit, so the images are
published once and the later stacks get them as objects
(:attr:`ImagesStack.model_image`, :attr:`ImagesStack.agent_image`). The
stack also records the deployed image URIs in SSM parameters: an operator
(or the operations stack) can read which image runs without opening the
asset manifest, and CloudFormation sees a real resource to deploy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks.config import ResourceNames

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_IMAGE_DIR = REPO_ROOT / "model_container"
AGENT_IMAGE_DIR = REPO_ROOT / "agent_runtime"

# Sources that must not change the image hash (build outputs, caches).
_EXCLUDE = ["**/__pycache__", "**/*.pyc", "*.egg-info", "**/.pytest_cache", "**/.mypy_cache"]


class ImagesStack(Stack):
    """Builds the model (amd64) and agent (arm64) images as Docker assets."""

    def __init__(
        self, scope: Construct, construct_id: str, *, names: ResourceNames, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.model_image = ecr_assets.DockerImageAsset(
            self,
            "ModelImage",
            directory=str(MODEL_IMAGE_DIR),
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=_EXCLUDE,
            display_name=f"{names.stack_prefix} model image (vLLM)",
        )
        self.agent_image = ecr_assets.DockerImageAsset(
            self,
            "AgentImage",
            directory=str(AGENT_IMAGE_DIR),
            platform=ecr_assets.Platform.LINUX_ARM64,
            exclude=_EXCLUDE,
            display_name=f"{names.stack_prefix} agent image (AgentCore)",
        )
        for name, asset in (("model", self.model_image), ("agent", self.agent_image)):
            ssm.StringParameter(
                self,
                f"{name.capitalize()}ImageUriParameter",
                parameter_name=names.parameter("images", f"{name}-uri"),
                string_value=asset.image_uri,
                description=f"URI of the {name} image deployed by {names.stack_prefix}",
            )
            CfnOutput(self, f"{name.capitalize()}ImageUri", value=asset.image_uri)

    @property
    def model_repository(self) -> ecr.IRepository:
        """Repository holding the model image (the IAM stack scopes ECR pull to it)."""
        return self.model_image.repository

    @property
    def agent_repository(self) -> ecr.IRepository:
        """Repository holding the agent image (the IAM stack scopes ECR pull to it)."""
        return self.agent_image.repository
