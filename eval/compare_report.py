"""The comparison report: one markdown file for both sides, the gate's verdict on top."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from pathlib import Path

from .compare import Comparison, SideRun
from .gate import OK, Decision, PromotionRules
from .report import git_commit
from .stats import PairedMeans

MAX_REGRESSIONS_LISTED = 40


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _mean(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _means_row(name: str, stat: PairedMeans, digits: int) -> str:
    interval = (
        "—"
        if stat.interval is None
        else f"{stat.interval.low:+.{digits}f} to {stat.interval.high:+.{digits}f}"
    )
    diff = "—" if stat.difference is None else f"{stat.difference:+.{digits}f}"
    return (
        f"| {name} | {stat.cases} | {_mean(stat.baseline_mean, digits)} | "
        f"{_mean(stat.candidate_mean, digits)} | {diff} | {interval} |"
    )


def _latency_line(run: SideRun) -> str:
    values = sorted(o.observation.latency_ms for o in run.result.outcomes)
    if not values:
        return f"- {run.role}: no turns"
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return (
        f"- {run.role}: {len(values)} turns, median {statistics.median(values):.0f} ms, "
        f"p95 {p95:.0f} ms, max {values[-1]:.0f} ms"
    )


def render(
    comparison: Comparison,
    decision: Decision,
    rules: PromotionRules,
    *,
    commit: str,
    elapsed_s: float,
    when: datetime | None = None,
) -> str:
    when = when or datetime.now(UTC)
    base, cand = comparison.baseline, comparison.candidate
    ran = len(base.cases)
    pending = len(base.result.pending)
    conf = f"{comparison.confidence:.0%}"
    lines = [
        "# Comparison: candidate against baseline",
        "",
        f"- date: {when.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: `{commit}`",
        f"- baseline: {base.result.target}; model: {base.result.model}",
        f"- candidate: {cand.result.target}; model: {cand.result.model}",
        f"- golden set: `{comparison.golden.path.name}` (sha256 "
        f"`{comparison.golden.sha256[:12]}`), {len(comparison.golden.cases)} cases: {ran} run "
        f"on both sides ({len(base.result.outcomes)} + {len(cand.result.outcomes)} turns), "
        f"{pending} pending capability" + (", a subset selected" if base.result.filtered else ""),
        f"- wall time: {elapsed_s:.1f} s",
        f"- verdict: **{decision.verdict.upper()}**",
        "",
        "## Gate",
        "",
        "| criterion | rule | status | measured |",
        "|---|---|---|---|",
    ]
    for row in decision.rows:
        status = row.status if row.status == OK else f"**{row.status}**"
        lines.append(f"| {row.criterion} | {row.rule} | {status} | {row.message} |")
    lines += [
        "",
        f"Pass rates are over cases (a case passes when every turn a criterion applies to "
        f"passes), on the cases the criterion applies to on both sides. Pass/fail "
        f"intervals: exact, from the discordant cases (McNemar's setting, Clopper-Pearson "
        f"at {conf}); the reward's: paired percentile bootstrap over cases "
        f"({rules.bootstrap_resamples} resamples, seed {rules.bootstrap_seed}). The reward is "
        "`stock_agent.customize.reward` of each ticker's first model answer against its run "
        "record (the delivered narrative where no model was asked).",
        "",
        "## Every criterion",
        "",
        f"| criterion | cases | baseline | candidate | difference (points) | {conf} interval "
        "| regressed | improved | one side only |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for criterion in comparison.criteria:
        stat = comparison.binary[criterion]
        lines.append(
            f"| {criterion} | {stat.cases} | {_rate(stat.baseline_rate)} | "
            f"{_rate(stat.candidate_rate)} | {stat.difference * 100:+.1f} | "
            f"{stat.interval.low * 100:+.1f} to {stat.interval.high * 100:+.1f} | "
            f"{stat.regressed} | {stat.improved} | {comparison.one_sided[criterion]} |"
        )
    lines += [
        "",
        "## Reward, model calls, latency (per case)",
        "",
        f"| measure | cases | baseline mean | candidate mean | difference | {conf} interval |",
        "|---|---|---|---|---|---|",
        _means_row("reward", comparison.reward, 3),
        _means_row("model calls", comparison.model_calls, 2),
        _means_row("latency (ms, mean of turns)", comparison.latency_ms, 0),
        "",
        f"Narratives scored: baseline {len(base.rewards)}, candidate {len(cand.rewards)}.",
        "",
        "Latency per turn:",
        "",
        _latency_line(base),
        _latency_line(cand),
        "",
        "## Cases the candidate made fail",
        "",
    ]
    listed = 0
    for criterion in comparison.criteria:
        for case_id, detail in comparison.regressions(criterion):
            if listed < MAX_REGRESSIONS_LISTED:
                lines.append(f"- `{case_id}`, {criterion}: {detail[:300]}")
            listed += 1
    if listed == 0:
        lines.append("None.")
    elif listed > MAX_REGRESSIONS_LISTED:
        lines.append(f"- … and {listed - MAX_REGRESSIONS_LISTED} more")
    return "\n".join(lines) + "\n"


def write(
    comparison: Comparison,
    decision: Decision,
    rules: PromotionRules,
    path: Path,
    *,
    repo: Path,
    elapsed_s: float,
) -> str:
    text = render(comparison, decision, rules, commit=git_commit(repo), elapsed_s=elapsed_s)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text
