"""The monthly estimate: price parsing on a recorded-shape ``pricing:GetProducts`` answer, the
arithmetic per mode, and the fallback lines (expense_cli/aws/_pricing.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from expense_cli.aws import DeploySettings
from expense_cli.aws._pricing import estimate_cost, hourly_price, parse_hourly_price


def _product(component: str, usage: str, usd: str, instance: str = "ml.m5.xlarge") -> str:
    """One PriceList entry, shaped as GetProducts returns it (a JSON string per product)."""
    sku = f"SKU{abs(hash((component, usage, usd))) % 10**8}"
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {
                    "regionCode": "eu-west-1",
                    "servicecode": "AmazonSageMaker",
                    "usagetype": usage,
                    "location": "EU (Ireland)",
                    "instanceName": instance,
                    "component": component,
                    "operation": "RunInstance",
                    "vCpu": "4",
                    "memory": "16 GiB",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "endRange": "Inf",
                                "description": f"${usd} per {component} {instance}",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "offerTermCode": "JRTCKXETXF",
                    }
                }
            },
            "version": "20261101000000",
        }
    )


RECORDED = [
    _product("Training", "EU-Train:ml.m5.xlarge", "0.2580000000"),
    _product("Notebook", "EU-Notebk:ml.m5.xlarge", "0.2580000000"),
    _product("Hosting", "EU-Host:ml.m5.xlarge", "0.2580000000"),
    _product("Hosting", "EU-Host:ml.m5.2xlarge", "0.5160000000", "ml.m5.2xlarge"),
    _product("Hosting", "EU-Host:ml.m5.xlarge-free", "0.0000000000"),
]


def test_parse_picks_the_hosting_price_of_the_instance_type() -> None:
    assert parse_hourly_price(RECORDED, "ml.m5.xlarge") == Decimal("0.258")
    assert parse_hourly_price(RECORDED, "ml.m5.2xlarge") == Decimal("0.516")
    assert parse_hourly_price([json.loads(p) for p in RECORDED], "ml.m5.xlarge") == Decimal("0.258")


@pytest.mark.parametrize(
    "listing",
    [
        [],
        [_product("Training", "EU-Train:ml.m5.xlarge", "0.25")],
        [_product("Hosting", "EU-Host:ml.m5.xlarge", "not a number")],
        [_product("Hosting", "EU-Host:ml.m5.xlarge", "0.0")],
        [json.dumps(["not", "a", "product"])],
    ],
)
def test_parse_without_a_hosting_price(listing: list[str]) -> None:
    assert parse_hourly_price(listing, "ml.m5.xlarge") is None


def test_realtime_estimate_is_min_to_max_instances() -> None:
    settings = DeploySettings(region="eu-west-1", min_instances=1, max_instances=4)
    estimate = estimate_cost(None, settings, price=Decimal("0.258"))
    assert (estimate.monthly_low, estimate.monthly_high) == (Decimal("188.340"), Decimal("753.360"))
    assert estimate.text.startswith(
        "Estimated cost: $188.34 to $753.36 per month (1 to 4 instances): ml.m5.xlarge at "
        "$0.26/hour in eu-west-1 x 730 h"
    )


def test_async_starts_from_zero_and_fixed_counts_show_one_figure() -> None:
    settings = DeploySettings(region="eu-west-1", async_inference=True, max_instances=2)
    assert estimate_cost(None, settings, price=Decimal("1")).text.startswith(
        "Estimated cost: $0.00 to $1,460.00 per month (0 to 2 instances)"
    )
    fixed = estimate_cost(None, settings, instances=(3, 3), price=Decimal("0.5"))
    assert fixed.text.startswith("Estimated cost: $1,095.00 per month: ml.m5.xlarge at $0.50")


def test_serverless_has_no_instance_hours() -> None:
    settings = DeploySettings(region="eu-west-1", serverless=True, serverless_memory_mb=2048)
    assert (
        "serverless endpoint (2048 MB) billed per request-second"
        in estimate_cost(None, settings).text
    )


class _Client:
    def __init__(self, pages: list[dict[str, Any]] | Exception) -> None:
        self.pages = pages
        self.calls: list[dict[str, Any]] = []

    def get_products(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if isinstance(self.pages, Exception):
            raise self.pages
        return self.pages.pop(0)


class _Session:
    def __init__(self, client: _Client) -> None:
        self.client_ = client
        self.regions: list[str | None] = []

    def client(self, service: str, region_name: str | None = None, config: Any = None) -> _Client:
        assert service == "pricing" and config is not None  # bounded timeouts
        self.regions.append(region_name)
        return self.client_


def test_hourly_price_pages_through_get_products() -> None:
    client = _Client([{"PriceList": RECORDED[:2], "NextToken": "t1"}, {"PriceList": RECORDED[2:]}])
    session = _Session(client)
    assert hourly_price(session, "ml.m5.xlarge", "eu-west-1") == Decimal("0.258")  # type: ignore[arg-type]
    assert session.regions == ["us-east-1"]
    assert [c.get("NextToken") for c in client.calls] == [None, "t1"]
    assert {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"} in client.calls[0][
        "Filters"
    ]


def test_unreachable_price_list_is_a_clear_fallback() -> None:
    settings = DeploySettings(region="eu-west-1", min_instances=2, max_instances=3)
    session = _Session(_Client(RuntimeError("Could not connect to the endpoint URL")))
    text = estimate_cost(session, settings).text  # type: ignore[arg-type]
    assert text == (
        "Estimated cost: could not reach the AWS Price List API (Could not connect to the "
        "endpoint URL): 2-3 x ml.m5.xlarge in eu-west-1 for 730 h/month, "
        "see https://aws.amazon.com/sagemaker/pricing/"
    )
    unknown = estimate_cost(_Session(_Client([{"PriceList": []}])), settings).text  # type: ignore[arg-type]
    assert unknown.startswith("Estimated cost: the AWS Price List API has no hosting price for")
