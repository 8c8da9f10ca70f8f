"""The gateway's side of running as a fleet: which Fleet to build, and how it is reported.

`readiness` and `prometheus_text` are what /readyz and /metrics call; the numbers themselves
live in providers/resilience/fleet.py.
"""

from __future__ import annotations

from gateway.config import GatewaySettings
from providers.resilience.fleet import Fleet, MetricFamily, Readiness, metric_families, readiness
from providers.resilience.redis_link import RedisLink

__all__ = ["Readiness", "build_fleet", "per_worker_refusal", "prometheus_text", "readiness"]


def build_fleet(settings: GatewaySettings, workers: int = 1) -> Fleet:
    processes = settings.fleet_processes or workers
    if settings.redis_url is None:
        return Fleet(
            processes=processes,
            local_margin=settings.pacing_margin_seconds,
            background_share=settings.import_budget_share,
        )
    link = RedisLink.from_url(
        settings.redis_url.get_secret_value(),
        namespace=settings.redis_namespace,
        retry_seconds=settings.redis_retry_seconds,
        timeout=settings.redis_timeout_seconds,
    )
    return Fleet.shared(
        link,
        processes=processes,
        pacing_margin=settings.fleet_pacing_margin_seconds,
        local_margin=settings.pacing_margin_seconds,
        background_share=settings.import_budget_share,
    )


def per_worker_refusal(settings: GatewaySettings, workers: int) -> str | None:
    """Why `gateway serve --workers N` must not start with this config, or None."""
    if workers > 1 and settings.redis_url is None and not settings.allow_per_worker_budgets:
        return (
            f"--workers {workers} without gateway.redis_url: each worker would pace itself to the "
            f"providers' full limits, so together they would send {workers} times what the "
            "providers allow. Set gateway.redis_url to share the budgets, or set "
            "gateway.allow_per_worker_budgets = true to accept per-worker budgets."
        )
    return None


def prometheus_text(families: list[MetricFamily]) -> str:
    """Prometheus' text exposition format, for a /metrics without a client library."""
    lines: list[str] = []
    for family in families:
        lines += [f"# HELP {family.name} {family.help}", f"# TYPE {family.name} {family.kind}"]
        for labels, value in family.samples:
            rendered = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            lines.append(
                f"{family.name}{{{rendered}}} {value:g}" if labels else f"{family.name} {value:g}"
            )
    return "\n".join(lines) + "\n"


async def redis_readiness(fleet: Fleet) -> Readiness:
    return await readiness(fleet)


def fleet_metrics_text(fleet: Fleet) -> str:
    return prometheus_text(metric_families(fleet))
