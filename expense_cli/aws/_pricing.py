"""The estimated monthly cost of a deployment, from the AWS Price List API.

``deploy`` prints it before creating anything and ``status`` for what exists
(``expense_cli/cli/deploy.py``). The hourly on-demand price of the SageMaker hosting instance
type in the region comes from ``pricing:GetProducts`` (served from us-east-1 for every region);
the estimate is instances x 730 hours x that price. When the API cannot be reached or does not
know the instance type (an emulator, no ``pricing:GetProducts`` permission), the estimate says so
and where to look instead: it is never a reason to stop a deployment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

    from ._config import DeploySettings

__all__ = ["HOURS_PER_MONTH", "CostEstimate", "estimate_cost", "hourly_price", "parse_hourly_price"]

HOURS_PER_MONTH = 730
PRICING_REGION = "us-east-1"  # the Price List API's endpoint that knows every region
PRICING_PAGE = "https://aws.amazon.com/sagemaker/pricing/"


@dataclass(frozen=True)
class CostEstimate:
    """A one-line estimate (``text``) and the monthly figures behind it, when known."""

    text: str
    hourly: Decimal | None = None
    monthly_low: Decimal | None = None
    monthly_high: Decimal | None = None


def _usd(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01')):,}"


def _hosting(product: dict[str, Any], instance_type: str) -> bool:
    """A real-time/async hosting product of this instance type (not training, notebooks,
    batch transform or serverless)."""
    attributes = product.get("product", {}).get("attributes", {})
    usage = str(attributes.get("usagetype", ""))
    component = str(attributes.get("component", "")).lower()
    named = attributes.get("instanceName") == instance_type or usage.endswith(f":{instance_type}")
    return named and (component == "hosting" or "-Host:" in usage)


def parse_hourly_price(
    price_list: Iterable[str | dict[str, Any]], instance_type: str
) -> Decimal | None:
    """The on-demand USD price per hour of ``instance_type`` hosting in a ``GetProducts``
    ``PriceList`` (JSON strings, or dicts); ``None`` when there is none. Several matching offers
    (e.g. a regional variant) give the lowest non-zero price."""
    prices: list[Decimal] = []
    for item in price_list:
        product = json.loads(item) if isinstance(item, str) else item
        if not isinstance(product, dict) or not _hosting(product, instance_type):
            continue
        for term in (product.get("terms", {}).get("OnDemand") or {}).values():
            for dimension in (term.get("priceDimensions") or {}).values():
                if str(dimension.get("unit", "")).lower() not in ("hrs", "hours", "hour"):
                    continue
                try:
                    price = Decimal(str(dimension.get("pricePerUnit", {}).get("USD")))
                except InvalidOperation:
                    continue
                if price > 0:
                    prices.append(price)
    return min(prices) if prices else None


def hourly_price(session: boto3.Session, instance_type: str, region: str) -> Decimal | None:
    """The hourly hosting price from ``pricing:GetProducts`` (a few seconds at most: short
    timeouts, one retry). Raises whatever botocore raised when the API is unreachable."""
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})
    client = session.client("pricing", region_name=PRICING_REGION, config=config)
    filters = [
        {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
    ]
    found: list[str] = []
    token: str | None = None
    for _page in range(10):
        kwargs: dict[str, Any] = {"ServiceCode": "AmazonSageMaker", "Filters": filters}
        if token:
            kwargs["NextToken"] = token
        answer = client.get_products(**kwargs)
        found.extend(answer.get("PriceList") or [])
        token = answer.get("NextToken")
        if not token:
            break
    return parse_hourly_price(found, instance_type)


def estimate_cost(
    session: boto3.Session | None,
    settings: DeploySettings,
    instances: tuple[int, int] | None = None,
    price: Decimal | None = None,
) -> CostEstimate:
    """The monthly estimate for ``settings`` (``instances``: the low/high instance counts, by
    default min-max of a real-time endpoint, 0-max of an async one). ``price`` skips the API."""
    region = str(settings.region)
    if settings.serverless:
        return CostEstimate(
            f"Estimated cost: serverless endpoint ({settings.serverless_memory_mb} MB) billed per "
            f"request-second and GB processed, nothing while idle (prices: {PRICING_PAGE})"
        )
    low, high = instances or (
        (0 if settings.async_inference else settings.min_instances),
        settings.max_instances,
    )
    kind = settings.instance_type
    if price is None and session is not None:
        try:
            price = hourly_price(session, kind, region)
        except Exception as exc:  # unreachable, no permission, not implemented: an estimate only
            reason = " ".join(str(exc).split())[:160] or type(exc).__name__
            return CostEstimate(
                f"Estimated cost: could not reach the AWS Price List API ({reason}): "
                f"{low}-{high} x {kind} in {region} for {HOURS_PER_MONTH} h/month, "
                f"see {PRICING_PAGE}"
            )
    if price is None:
        return CostEstimate(
            f"Estimated cost: the AWS Price List API has no hosting price for {kind} in {region}: "
            f"{low}-{high} instance(s) for {HOURS_PER_MONTH} h/month, see {PRICING_PAGE}"
        )
    monthly_low = price * low * HOURS_PER_MONTH
    monthly_high = price * high * HOURS_PER_MONTH
    span = _usd(monthly_low) if low == high else f"{_usd(monthly_low)} to {_usd(monthly_high)}"
    scaled = "" if low == high else f" ({low} to {high} instances)"
    return CostEstimate(
        f"Estimated cost: {span} per month{scaled}: {kind} at {_usd(price)}/hour in {region} "
        f"x {HOURS_PER_MONTH} h (AWS Price List API, on-demand, endpoint instances only)",
        price,
        monthly_low,
        monthly_high,
    )
