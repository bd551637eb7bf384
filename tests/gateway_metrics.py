"""What a Pushgateway holds, read as the tests compare it."""

import httpx
from prometheus_client.parser import text_string_to_metric_families


def pushed(url: str) -> dict[tuple[str, frozenset], float]:
    """What the gateway holds: (metric name, its labels) -> value, without the gateway's own series."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("nivesh_")
    }


def value(figures: dict, name: str, **labels: str) -> float | None:
    """The value of the one series named `name` whose labels include `labels`; None if there is none."""
    found = [v for (metric, have), v in figures.items() if metric == name and set(labels.items()) <= have]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None
