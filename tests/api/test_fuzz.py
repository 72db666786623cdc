"""Fuzzing the service against its own OpenAPI with schemathesis: in process, bounded, deterministic.

Every check is on; each operation gets a fixed number of generated requests (derandomized, no
example database) within a time budget. No answer may be a 5xx, and each must conform to the
status codes, media types and schemas the OpenAPI declares. One allowance: valid-looking data
the schema cannot rule out may be refused with a 422 — a pair whose longitude and latitude are
swapped, an unknown tier, a facility record the data model refuses — because the issue asks for
exactly those refusals.
"""

from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from servicegrid.api import create_app
from tests.api.conftest import KEY

EXAMPLES = 8
BUDGET_S = 60.0

CONFIG = {
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "401", "403", "404", "409", "413", "422", "429"]
        }
    },
}


def _schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))


def _fuzz(schema, *, examples: int, budget_s: float, headers: dict | None = None) -> tuple[list[str], int]:
    """Run every operation of ``schema`` with generated requests; the failures and the count run.

    Driven through hypothesis directly (the schemathesis pytest plugin does not run on pytest 9):
    positive and negative requests for each operation, ``examples`` of each.
    """
    failures: list[str] = []
    started = time.monotonic()
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() - started > budget_s:
                return failures, ran
            strategy = operation.as_strategy(generation_mode=mode, headers=headers)

            @given(case=strategy)
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def run(case):
                case.call_and_validate()

            try:
                run()
            except Unsatisfiable:
                continue  # no negative request exists for an operation without parameters
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
            ran += 1
    return failures, ran


def test_every_operation_conforms(county_file):
    failures, ran = _fuzz(_schema(create_app(county_file)), examples=EXAMPLES, budget_s=BUDGET_S)
    assert ran >= 20
    assert not failures, "\n\n".join(failures)


def test_updates_with_a_key_conform(county_copy):
    schema = _schema(create_app(county_copy, api_keys=[KEY])).include(tag="updates")
    failures, ran = _fuzz(schema, examples=3, budget_s=BUDGET_S, headers={"X-API-Key": KEY})
    assert ran == 6
    assert not failures, "\n\n".join(failures)
