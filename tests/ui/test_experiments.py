"""The experiments pages in a real browser: a bad experiment refused at the field it
concerns with its stable code, a good one created from the form, its results (effects
with their interval plots, the sample-ratio check, a breached guardrail) once exposures
and events are logged, and the kill switch."""

from __future__ import annotations

import random
import re

from tests.ui.browser import assert_accessible, assert_looks_like
from tests.ui.test_pages import production, sign_in  # noqa: F401 (a fixture)
from vitrina.access.keys import create_key
from vitrina.experiments_service import ExperimentService


def assert_fits_a_phone(page) -> None:
    """At 375 px wide nothing scrolls sideways, and the page still passes axe-core."""
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(page)


def tab_to(page, target, most: int = 80) -> None:
    """Press Tab from where the focus is until ``target`` has it (or fail: unreachable)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reachable with the Tab key")


def fill(page, values: dict[str, str]) -> None:
    for label, value in values.items():
        control = page.get_by_label(label, exact=True)
        if control.evaluate("c => c.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)


def log_a_week_of_traffic(service: ExperimentService, key: str) -> None:
    """400 units split evenly: the treatment converts more and spends far less."""
    rng = random.Random(7)
    exposures, events = [], []
    for i in range(400):
        variant = ("control", "bigger")[i % 2]
        exposures.append({"experiment": key, "unit_id": f"u{i}", "variant": variant})
        if rng.random() < (0.2 if variant == "control" else 0.35):
            events.append({"unit_id": f"u{i}", "event": "buy"})
        events.append({"unit_id": f"u{i}", "event": "spend",
                       "value": rng.gauss(10 if variant == "control" else 6, 1)})
    service.log_exposures("default", exposures)
    service.log_events("default", events)


def test_create_read_results_and_kill_an_experiment(dev_server, page):
    base, rt = dev_server
    page.goto(base + "/experiments")
    assert_accessible(page)
    form = {"Key": "hero banner!", "Variants": "control, bigger", "Metric name": "buyers",
            "Metric kind": "proportion", "Metric event": "buy", "Guardrail metric name": "spend",
            "Guardrail metric kind": "mean", "Guardrail event": "spend", "Tolerated harm": "0.01"}
    fill(page, form)
    page.get_by_role("button", name="Create experiment").click()
    error = page.locator("#f-key-error")  # refused at its field, the values kept
    assert error.get_attribute("data-code") == "invalid_experiment"
    assert page.get_by_label("Key", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Metric event", exact=True).input_value() == "buy"
    assert_accessible(page)
    assert_looks_like(page, "experiments-refused")
    fill(page, {"Weights": "1, x"})
    page.get_by_role("button", name="Create experiment").click()
    assert page.locator("#f-key-error").count() == 1  # the key is still wrong: named first
    fill(page, {"Key": "hero-banner"})
    page.get_by_role("button", name="Create experiment").click()
    assert page.locator("#f-weights-error").get_attribute("data-code") == "invalid_experiment"
    assert not ExperimentService(rt.sessions).list("default")  # nothing stored by a refusal

    fill(page, {"Weights": ""})
    page.get_by_role("button", name="Create experiment").click()
    page.wait_for_url(base + "/experiments/hero-banner")
    stored = ExperimentService(rt.sessions).get("default", "hero-banner")
    assert [v.key for v in stored.experiment.variants] == ["control", "bigger"]
    assert [m.name for m in stored.plan.metrics] == ["buyers", "spend"]

    log_a_week_of_traffic(ExperimentService(rt.sessions), "hero-banner")
    page.reload()
    result = ExperimentService(rt.sessions).result("default", "hero-banner")
    buyers = result.result("buyers", "bigger").frequentist
    row = page.locator("#results tr[data-metric='buyers'][data-variant='bigger']")
    assert row.locator(".effect").inner_text() == f"{buyers.effect * 100:+.2f}%"
    assert row.locator("svg.effect-plot line.interval").count() == 1
    assert page.locator("#srm").get_attribute("data-status") == "ok"
    guard = page.locator("[data-guardrail='spend']")
    assert guard.get_attribute("data-status") == result.guardrails[0].status.value == "stop"
    assert guard.get_attribute("role") == "alert"  # shown as a warning, not a footnote
    assert page.locator("#recommendation").inner_text() == "stop"
    assert_accessible(page)
    assert_looks_like(page, "experiment")

    kill = page.get_by_role("button", name="Stop this experiment")
    kill.click()  # the confirmation is not ticked: nothing is sent
    assert not ExperimentService(rt.sessions).get("default", "hero-banner").experiment.killed
    tab_to(page, page.get_by_label("Every unit gets the control from now on"))  # by keyboard alone
    page.keyboard.press("Space")
    tab_to(page, kill)
    page.keyboard.press("Enter")
    page.locator("#experiment-status[data-status='killed']").wait_for()
    assert ExperimentService(rt.sessions).get("default", "hero-banner").experiment.killed
    unconfirmed = page.request.post(base + "/ui/experiments/hero-banner/kill",
                                    form={"csrf_token": page.locator("body").get_attribute("data-csrf-token")})
    assert unconfirmed.status == 400 and 'data-code="confirmation_needed"' in unconfirmed.text()

    page.goto(base + "/experiments")
    assert page.locator("#experiments tr[data-key='hero-banner'] td").first.inner_text() == "killed"
    assert_fits_a_phone(page)


def test_another_projects_experiment_is_missing_and_bad_forms_change_nothing(production):  # noqa: F811
    """Over HTTP on both catalogs: team-b neither sees nor stops the default project's
    experiment; a read-only key cannot create; a bad value is a 4xx at its field."""
    rt, client = production
    service = ExperimentService(rt.sessions)
    service.create("default", {"key": "hero", "variants": [{"key": "control"}, {"key": "b"}]},
                   {"metrics": [{"name": "buyers", "kind": "proportion", "event": "buy"}]})
    csrf = sign_in(client, create_key(rt.sessions, "team b", ["write"], "team-b"))
    assert client.get("/experiments/hero").status_code == 404
    killed = client.post("/ui/experiments/hero/kill", data={"csrf_token": csrf, "confirm": "yes"})
    assert killed.status_code == 404 and 'data-code="not_found"' in killed.text
    assert not service.get("default", "hero").experiment.killed
    assert "hero" not in client.get("/experiments").text

    form = {"csrf_token": csrf, "key": "promo", "variants": "control, b", "metric_name": "buyers",
            "metric_kind": "sideways", "metric_event": "buy"}
    refused = client.post("/ui/experiments", data=form)
    assert refused.status_code == 400 and 'id="f-metric_kind-error"' in refused.text
    assert 'data-code="invalid_metric"' in refused.text
    assert client.post("/ui/experiments", data={**form, "metric_kind": "proportion", "key": "\x00"}).status_code == 400
    assert client.post("/ui/experiments", data={**form, "csrf_token": "stale"}).status_code == 403
    assert service.list("team-b") == []

    sign_in(client, create_key(rt.sessions, "reader", ["read"], "team-b"))
    page = client.get("/experiments")
    assert page.status_code == 200 and "Create experiment" not in page.text
    reader_csrf = re.search(r'data-csrf-token="([^"]+)"', page.text)[1]
    denied = client.post("/ui/experiments", data={**form, "csrf_token": reader_csrf, "metric_kind": "proportion"})
    assert denied.status_code == 403 and service.list("team-b") == []
