"""Call a running app's Dash callbacks over real HTTP, as the browser does (or a forger).

The callback is found in /_dash-dependencies by one of its outputs; inputs and states
not given are sent as None, exactly like a browser that has no value for them.
"""

from __future__ import annotations

import json
from typing import Any

import requests

ComponentId = str | dict[str, Any]


def _parse_id(text: str) -> ComponentId:
    return json.loads(text) if text.startswith("{") else text


def key(component_id: ComponentId, prop: str) -> str:
    if isinstance(component_id, dict):
        component_id = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return f"{component_id}.{prop}"


def _split_outputs(output: str) -> list[tuple[ComponentId, str]]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    found = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        found.append((_parse_id(ident), prop.split("@")[0]))
    return found


class DashClient:
    """A logged-in (or anonymous) session talking to /_dash-update-component."""

    def __init__(self, session: requests.Session, base_url: str) -> None:
        self.session = session
        self.url = base_url
        response = session.get(base_url + "/_dash-dependencies", timeout=30)
        response.raise_for_status()
        self.dependencies: list[dict[str, Any]] = response.json()

    def find(self, output_id: ComponentId, prop: str,
             trigger: tuple[ComponentId, str] | None = None) -> dict[str, Any]:
        """The server callback with this output (and this input, when several share it)."""
        for dep in self.dependencies:
            if dep.get("clientside_function"):
                continue
            if (output_id, prop) not in _split_outputs(dep["output"]):
                continue
            inputs = [(_parse_id(i["id"]), i["property"]) for i in dep["inputs"]]
            if trigger is None or trigger in inputs:
                return dep
        raise KeyError(f"no callback outputs {key(output_id, prop)}")

    def call(
        self,
        output_id: ComponentId,
        prop: str,
        values: dict[str, Any],
        changed: tuple[ComponentId, str] | None = None,
    ) -> requests.Response:
        """POST the callback with `values` (by key(id, prop)) for its inputs and states."""
        dep = self.find(output_id, prop, changed)
        outputs = [{"id": i, "property": p} for i, p in _split_outputs(dep["output"])]

        def fill(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            filled = []
            for item in items:
                ident = _parse_id(item["id"]) if isinstance(item["id"], str) else item["id"]
                filled.append({"id": ident, "property": item["property"],
                               "value": values.get(key(ident, item["property"]))})
            return filled

        inputs, state = fill(dep["inputs"]), fill(dep.get("state", []))
        first = changed or (inputs[0]["id"], inputs[0]["property"])
        body = {
            "output": dep["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": inputs,
            "state": state,
            "changedPropIds": [key(*first)],
        }
        return self.session.post(self.url + "/_dash-update-component", json=body, timeout=60)

    def outputs(self, response: requests.Response) -> dict[str, Any]:
        """The response's new values by "id.prop" (empty for 204 No Content)."""
        if response.status_code == 204:
            return {}
        response.raise_for_status()
        found = {}
        for ident, props in response.json()["response"].items():
            for prop, value in props.items():
                found[f"{ident}.{prop}"] = value
        return found
