"""`vitrina creative policy`, `report` and `estimate`: a placement's selection policy,
per-variant results and off-policy estimates of a candidate (decision 036)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of

POLICY = click.option("--policy", "policy", required=True,
                      type=click.Choice(["thompson", "mvt", "contextual", "uniform"]))
OPTIONS = click.option("--options", "options", default=None,
                       help='The policy\'s options as JSON, e.g. \'{"epsilon": 0.1}\'.')
CONTEXT = click.option("--context", "context", default=None,
                       help='The contextual policy\'s space as JSON, e.g. \'{"device": ["mobile", "desktop"]}\'.')


def _json(label: str, text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=label) from None


def _candidate(policy: str, options: str | None, context: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"policy": policy}
    if options is not None:
        out["options"] = _json("--options", options)
    if context is not None:
        out["context"] = _json("--context", context)
    return out


def _run(ctx: click.Context, work: Callable[[Any], Any]) -> Any:
    from vitrina.creative.serving import SelectionService
    from vitrina.errors import VitrinaError

    rt = runtime_of(ctx)
    service = SelectionService.of(rt)
    try:
        return work(service)
    except VitrinaError as exc:
        raise click.ClickException(f"{exc.message} ({exc.status} {exc.code})") from None
    finally:
        service.close()
        rt.close()


@click.command("policy")
@click.argument("campaign")
@click.argument("placement")
@POLICY
@OPTIONS
@CONTEXT
@PROJECT
@click.pass_context
def policy(ctx: click.Context, campaign: str, placement: str, policy: str, options: str | None,
           context: str | None, project: str) -> None:
    """Serve PLACEMENT of CAMPAIGN with --policy from now on (servers pick it up within
    their refresh interval); the state is learned from the same event log whatever the
    policy."""
    config = _run(ctx, lambda s: s.set_policy(project, campaign, placement,
                                              _candidate(policy, options, context)))
    click.echo(f"{campaign}/{placement}: {json.dumps(config.to_dict(), sort_keys=True)}")


def _interval(pair: list[float] | None) -> str:
    return f"[{pair[0]:.4f}, {pair[1]:.4f}]" if pair else "-"


@click.command("report")
@click.argument("campaign")
@click.argument("placement")
@PROJECT
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@click.pass_context
def report(ctx: click.Context, campaign: str, placement: str, project: str, as_json: bool) -> None:
    """Per creative: impressions, clicks, conversions, CTR and conversion with 95 %
    Wilson intervals (each creative from its own counts)."""
    from vitrina.creative.results import report as placement_report

    rows = _run(ctx, lambda s: placement_report(s.sessions, project, campaign, placement))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'creative':14} {'status':8} {'impr':>7} {'clicks':>6} {'ctr':>7} "
               f"{'ctr 95%':>18} {'conv':>5}  factors")
    for r in rows:
        ctr = f"{r['ctr']:.4f}" if r["ctr"] is not None else "-"
        factors = " x ".join(f"{k}={v}" for k, v in sorted(r["factors"].items()))
        click.echo(f"{r['creative_id'][:12]:14} {r['status']:8} {r['impressions']:>7} "
                   f"{r['clicks']:>6} {ctr:>7} {_interval(r['ctr_interval']):>18} "
                   f"{r['conversions']:>5}  {factors}")


@click.command("estimate")
@click.argument("campaign")
@click.argument("placement")
@click.option("--policy", "policy", required=True,
              type=click.Choice(["thompson", "mvt", "contextual", "uniform", "fixed"]))
@OPTIONS
@CONTEXT
@click.option("--creative", "creative_id", default=None, help="The creative a fixed policy serves.")
@click.option("--reward", type=click.Choice(["click", "conversion"]), default="click",
              show_default=True)
@PROJECT
@click.pass_context
def estimate(ctx: click.Context, campaign: str, placement: str, policy: str, options: str | None,
             context: str | None, creative_id: str | None, reward: str, project: str) -> None:
    """What --policy would earn per impression at PLACEMENT, estimated off-policy (IPS,
    SNIPS, DR with 95 % intervals) on the logged answers, before it is switched on."""
    from vitrina.creative.results import estimate as off_policy

    candidate = _candidate(policy, options, context)
    if policy == "fixed":
        candidate = {"policy": "fixed", "creative_id": creative_id}
    out = _run(ctx, lambda s: off_policy(s, project, campaign, placement, candidate, reward))
    click.echo(f"{out['impressions']} logged impressions; the logging policy earned "
               f"{out['logged']:.4f} {reward}s per impression")
    for name, e in out["estimates"].items():
        click.echo(f"{name:6} {e['value']:.4f}  95% {_interval(e['interval'])}")


COMMANDS: list = [policy, report, estimate]
