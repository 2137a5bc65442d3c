"""Train one adapter: ``python training/run.py --method sft|dpo|grpo [--data DIR] [--output DIR]``.

The SageMaker training job's entry point too: SageMaker passes the job's
hyperparameters as ``--key value``, the dataset channel in
``SM_CHANNEL_TRAINING``, the output folder in ``SM_MODEL_DIR`` (uploaded as
``model.tar.gz``) and restores checkpoints into ``/opt/ml/checkpoints``
(synchronised with S3, so a spot interruption resumes where it stopped).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
# The reward lives in the agent package; the job's source bundle carries it beside training/.
for candidate in (_ROOT, _ROOT / "agent_runtime"):
    if (candidate / "stock_agent").is_dir() or (candidate / "training").is_dir():
        sys.path.insert(0, str(candidate))

from training import config as training_config  # noqa: E402

logger = logging.getLogger("training.run")
SAGEMAKER_CHECKPOINTS = Path("/opt/ml/checkpoints")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--method", choices=training_config.METHODS, required=True)
    parser.add_argument("--config", type=Path, help="default: configs/<method>.json")
    parser.add_argument("--data", type=Path, default=os.environ.get("SM_CHANNEL_TRAINING"))
    parser.add_argument("--output", type=Path, default=os.environ.get("SM_MODEL_DIR", "out"))
    parser.add_argument("--checkpoints", type=Path, help="default /opt/ml/checkpoints on SageMaker")
    parser.add_argument("--max-steps", type=int, help="override trainer.max_steps")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.data is None:
        parser.error("--data is required outside SageMaker (SM_CHANNEL_TRAINING unset)")
    try:
        config = training_config.load(args.method, args.config)
    except training_config.TrainingConfigError as err:
        logger.error("%s", err)
        return 2
    checkpoints = args.checkpoints or (
        SAGEMAKER_CHECKPOINTS if SAGEMAKER_CHECKPOINTS.is_dir() else None
    )
    overrides = {"max_steps": args.max_steps} if args.max_steps else None
    from training.trainers import train

    metrics = train(
        args.method,
        config,
        data_dir=args.data,
        output_dir=args.output,
        checkpoint_dir=checkpoints,
        overrides=overrides,
    )
    print(json.dumps({k: v for k, v in metrics.items() if k != "log_history"}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
