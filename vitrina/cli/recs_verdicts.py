"""`vitrina recs verdicts`: one policy's offline, off-policy and A/B figures side by side."""

from __future__ import annotations

import json
from datetime import datetime

import click

from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of
from vitrina.cli.recs import _fail


def _incumbent(value: str) -> tuple[str, int | None]:
    name, _, version = value.partition(":")
    if not name:
        raise click.BadParameter("give a model name, optionally with :VERSION")
    if not version:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise click.BadParameter(f"version {version!r} is not a positive integer")
    return name, int(version)


def _time(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("epoch seconds or an ISO 8601 time with a zone") from None
    if at.tzinfo is None:
        raise click.BadParameter("an ISO 8601 time needs a zone (e.g. +00:00)")
    return at.timestamp()


@click.command("verdicts")
@click.argument("candidate")
@click.option("--version", type=click.IntRange(min=1), required=True,
              help="The candidate's version.")
@click.option("--incumbent", required=True, metavar="NAME[:VERSION]",
              help="The model to beat (default version: its latest), e.g. item-knn:3.")
@click.option("--experiment", metavar="KEY", help="Also show this A/B test's result for "
              "the variant serving the candidate (its value names the model and version) "
              "against the control.")
@click.option("--variant", help="The experiment's variant serving the candidate, when its "
              "value does not name it.")
@click.option("--since", metavar="TIME", help="Only served lists logged from TIME on (epoch "
              "seconds or ISO 8601 with a zone), e.g. after both models' training data.")
@click.option("--until", metavar="TIME", help="Only served lists logged before TIME, e.g. "
              "the exploration period before an A/B test changed the serving.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@PROJECT
@click.pass_context
def verdicts(ctx: click.Context, candidate: str, version: int, incumbent: str,
             experiment: str | None, variant: str | None, since: str | None,
             until: str | None, as_json: bool, project: str) -> None:
    """Measure CANDIDATE (a stored model version) against the incumbent three ways and
    store the verdict with the version (recs/{project}/{model}/v{n}/verdict.json):

    \b
    offline     the manifests' NDCG@10 and recall@10;
    off-policy  IPS, SNIPS and DR estimates (95% intervals) of each model's ranking
                on the served lists logged as impression events with propensities,
                in clicks per shown slot, and the paired difference;
    A/B         with --experiment, the test's result for the candidate's variant.

    The candidate beats the incumbent when its NDCG@10 is higher and the SNIPS
    difference's lower bound is above 0 (each ranking agreeing with at least 100
    logged lists). A version built on LLM-written features is served through an
    experiment only after that."""
    from vitrina.errors import VitrinaError
    from vitrina.recs.artefacts import ModelStore
    from vitrina.recs.verdicts import ModelRef, compute, render, save_verdict

    name, inc_version = _incumbent(incumbent)
    start, end = _time(since), _time(until)
    rt = runtime_of(ctx)
    try:
        if inc_version is None:
            versions = ModelStore(rt.store).versions(project, name)
            if not versions:
                raise click.ClickException(f"no trained version of the incumbent {name!r} "
                                           "in this project (404 not_found)")
            inc_version = versions[-1]
        result = compute(rt, project, ModelRef(candidate, version), ModelRef(name, inc_version),
                         experiment, variant, start, end)
        key = save_verdict(rt.store, project, result)
    except VitrinaError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1))
        return
    click.echo(render(result))
    click.echo(f"saved {key}", err=True)


COMMANDS: list = [verdicts]
