"""The promotion gate end to end: two model servers on loopback, the agent in this process.

FakeVLLM (vLLM's wire format on a real socket; the GPU cannot run here)
answers through :class:`tests.support.analyst_model.AnalystModel`: a careful
analyst model, or the same model inventing a figure in one narrative in ten.
The agent's number check rejects that narrative and asks again, so what the
user gets stays faithful; the gate reads the model's first answers from the
run records and refuses the candidate, naming the criterion and the size of
the drop. Two equal servers are "not better". An adapter that writes better
narratives than its base on the same server is promoted, through
``stock-agent eval`` (the child process ``python -m eval``), exit status 0.

A subset of the golden set keeps this fast (``--category``); the full set's
run is ``python -m bench.promotion_gate``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from stock_agent.cli import main as stock_agent_main

from eval.cli import main
from tests.support.analyst_model import INVENTED_FIGURE, AnalystModel
from tests.support.fake_vllm import FakeVLLM
from tests.support.narratives import terse_narrative


def compare_servers(
    baseline: AnalystModel, candidate: AnalystModel, output: Path, category: str
) -> tuple[int, str]:
    """``python -m eval`` with each model behind its own FakeVLLM on loopback."""
    out = io.StringIO()
    with FakeVLLM.start() as first, FakeVLLM.start() as second:
        first.default_response, second.default_response = baseline, candidate
        code = main(
            [
                "--baseline", f"model:model@{first.url}",
                "--candidate", f"model:model@{second.url}",
                "--output", str(output), "--category", category,
            ],
            out=out,
        )  # fmt: skip
    return code, out.getvalue()


@pytest.mark.slow
def test_a_model_inventing_one_figure_in_ten_narratives_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "COMPARISON.md"
    baseline_model, candidate_model = AnalystModel(), AnalystModel(invent_every=10)
    code, printed = compare_servers(baseline_model, candidate_model, report, "single_ticker")
    err = capsys.readouterr().err
    assert code == 1
    # 14 narratives, the tenth invented once, then written again faithfully.
    assert (candidate_model.narratives, candidate_model.retries) == (14, 1)
    assert (baseline_model.narratives, baseline_model.retries) == (14, 0)
    [symbol] = candidate_model.invented_for
    text = report.read_text()
    assert printed.startswith("# Comparison: candidate against baseline")
    assert "- verdict: **WORSE**" in text
    assert "eval: verdict WORSE: the candidate is not promotable" in err
    assert (
        "eval: first_answer_faithful WORSE: candidate 92.9% vs baseline 100.0% of 14 cases "
        "(-7.1 points; 95% interval -7.1 to +6.8 points; 1 regressed, 0 improved"
    ) in err
    assert "7.1 points beyond the tolerated drop of 0.0 points" in err
    assert (
        f": turn 1: {symbol}: it contains figures that are not in the data: {INVENTED_FIGURE}"
        in text
    )
    # The agent's guard kept the delivered text faithful: that criterion is not worse.
    assert "| numeric_faithfulness | not worse; drop tolerated 0.0 points | ok |" in text
    # The first answers' reward fell; one extra model call shows in the calls.
    assert "eval: reward NOT BETTER: mean 0.98" in err
    assert "| model calls | 14 | 1.00 | 1.07 | +0.07 |" in text


@pytest.mark.slow
def test_two_equal_models_are_not_better(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "COMPARISON.md"
    code, _ = compare_servers(AnalystModel(), AnalystModel(), report, "company_name")
    err = capsys.readouterr().err
    text = report.read_text()
    assert code == 1
    assert "- verdict: **NOT BETTER**" in text and "WORSE" not in text
    assert "eval: verdict NOT BETTER: the candidate is not promotable" in err
    assert (
        "eval: reward NOT BETTER: mean 1.000 vs baseline 1.000 over 6 cases (+0.000; "
        "95% interval +0.000 to +0.000): the lower end is short of +0.020 by 0.020"
    ) in err
    assert "PROMOTE" not in err


@pytest.mark.slow
def test_an_adapter_better_than_its_base_is_promoted_through_stock_agent_eval(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "COMPARISON.md"
    out = io.StringIO()
    with FakeVLLM.start(adapters=("narrator-v1",)) as server:
        server.default_response = AnalystModel(write=terse_narrative)
        server.responders["narrator-v1"] = AnalystModel()
        code = stock_agent_main(
            [
                "eval", "--model-url", server.url,
                "--baseline", "model:model", "--candidate", "adapter:narrator-v1",
                "--category", "company_name", "--output", str(report),
            ],
            out=out,
        )  # fmt: skip
        asked = {r["model"] for r in server.chat_requests}
    text = report.read_text()
    assert code == 0, text
    assert asked == {"model", "narrator-v1"}
    assert "- verdict: **PROMOTE**" in text and "openai:model + adapter narrator-v1" in text
    assert "| reward | 6 | 0.375 | 1.000 | +0.625 |" in text
    assert "eval: verdict PROMOTE" in capfd.readouterr().err
    assert out.getvalue().startswith("# Comparison: candidate against baseline")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--baseline", "offline"], "--baseline and --candidate go together"),
        (["--candidate", "offline"], "--baseline and --candidate go together"),
        (["--baseline", "offline", "--candidate", "offline", "--url", "http://127.0.0.1:1"],
         "not with --baseline/--candidate: --url"),
        (["--baseline", "offline", "--candidate", "offline", "--judge-url", "http://j:1/v1"],
         "--judge-url (the judge criteria are not part of the promotion gate)"),
        (["--baseline", "offline", "--candidate", "live"], "--candidate 'live' names no target"),
        (["--baseline", "offline", "--candidate", "offline", "--model-url", "http://m:1/v1"],
         "--model-url applies to model:/adapter: sides only"),
        (["--baseline", "model:model", "--candidate", "adapter:bad/name",
          "--model-url", "http://127.0.0.1:1/v1"], "MODEL_ADAPTER='bad/name' is invalid"),
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_with_the_reason(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "COMPARISON.md"
    assert main([*argv, "--output", str(report)], out=io.StringIO()) == 2
    assert message in capsys.readouterr().err
    assert not report.exists()


def test_bad_promotion_rules_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from eval.thresholds import THRESHOLDS_FILE

    thresholds = tmp_path / "thresholds.toml"
    text = THRESHOLDS_FILE.read_text().replace("min_reward_gain = 0.02", "min_reward_gain = -1")
    thresholds.write_text(text)
    argv = ["--baseline", "offline", "--candidate", "offline", "--thresholds", str(thresholds)]
    assert main(argv, out=io.StringIO()) == 2
    assert "promotion.min_reward_gain=-1 is invalid" in capsys.readouterr().err
