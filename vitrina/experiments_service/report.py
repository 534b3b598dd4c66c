"""A plain-text report of an experiment result, for terminals (`vitrina exp results`)."""

from __future__ import annotations

from vitrina.experiments import ExperimentResult


def _effect(x: float | None, relative: bool) -> str:
    if x is None:
        return "-"
    return f"{x:+.2%}" if relative else f"{x:+.4g}"


def _interval(lo: float | None, hi: float | None, relative: bool) -> str:
    if lo is None or hi is None:
        return "-"
    return f"[{_effect(lo, relative)}, {_effect(hi, relative)}]"


def _number(x: float | None, spec: str = ".4g") -> str:
    return "-" if x is None else format(x, spec)


def report(result: ExperimentResult) -> str:
    srm = result.srm
    units = "  ".join(f"{v} {n:,}" for v, n in result.units.items())
    srm_text = srm.status.value + ("" if srm.p_value is None else f", p = {srm.p_value:.3g}")
    lines = [f"experiment {result.experiment}  (control: {result.control})",
             f"units: {units}   sample ratio: {srm_text}", ""]
    header = (f"{'metric':16} {'variant':10} {'control':>9} {'treatment':>9} {'effect':>9} "
              f"{'95% CI':>20} {'p':>8} {'p (Holm)':>8} {'always-valid CI':>20} {'P(win)':>7}")
    if result.results:
        level = round(100 * (1 - result.results[0].frequentist.alpha))
        header = header.replace("95%", f"{level}%")
    lines.append(header)
    for r in result.results:
        f, s, b = r.frequentist, r.sequential, r.bayesian
        rel = f.relative
        lines.append(
            f"{r.metric[:16]:16} {r.variant[:10]:10} {_number(f.control_mean):>9} "
            f"{_number(f.treatment_mean):>9} {_effect(f.effect, rel):>9} "
            f"{_interval(f.ci_low, f.ci_high, rel):>20} {_number(f.p_value, '.3g'):>8} "
            f"{_number(r.adjusted_p_value, '.3g'):>8} {_interval(s.ci_low, s.ci_high, rel):>20} "
            f"{_number(b.chance_to_win, '.1%'):>7}"
            + ("" if f.ok else f"  ({f.status.value})"))
    for g in result.guardrails:
        lines.append(f"guardrail {g.metric} / {g.variant}: {g.status.value} "
                     f"(tolerated harm {g.tolerance:g}, always-valid "
                     f"{_interval(g.ci_low, g.ci_high, True)})")
    lines += [f"warning: {w}" for w in result.warnings]
    lines.append(f"recommendation: {result.recommendation.value}")
    return "\n".join(lines)
