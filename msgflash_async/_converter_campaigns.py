"""Campaign wire quirks, taught to the converter by :func:`configure_campaigns`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import cattrs

from .models.campaigns import CampaignRepeat, NewCampaign, SafetyGuidance

__all__ = ["configure_campaigns"]

EnumHook = Callable[[Any, Any], Any]


# Every documentation page prints the "none" repeat as "noe": read both.
_REPEAT_ALIASES = {"noe": CampaignRepeat.NONE}


def configure_campaigns(
    converter: cattrs.Converter,
    structure_enum: EnumHook,
    structure_factory: Callable[[type], Callable[[Any, Any], Any]],
    unstructure_factory: Callable[[type], Callable[[Any], Any]],
) -> None:
    """Campaign wire quirks: a flat create body, ``noe``, and the open safety object."""

    def structure_repeat(value: Any, cls: type[CampaignRepeat]) -> CampaignRepeat:
        if isinstance(value, str) and value in _REPEAT_ALIASES:
            return _REPEAT_ALIASES[value]
        result: CampaignRepeat = structure_enum(value, cls)
        return result

    converter.register_structure_hook(CampaignRepeat, structure_repeat)

    plain_safety = structure_factory(SafetyGuidance)

    def structure_safety(data: Any, cls: Any) -> SafetyGuidance:
        # Only ``decision`` is documented: keep everything else the server said.
        guidance: SafetyGuidance = plain_safety(data, cls)
        return attrs.evolve(guidance, raw=dict(data))

    converter.register_structure_hook(SafetyGuidance, structure_safety)

    plain_campaign = unstructure_factory(NewCampaign)

    def unstructure_campaign(campaign: NewCampaign) -> dict[str, Any]:
        # The content's fields sit beside the others on the wire; a campaign
        # that runs once leaves ``repeat`` out (the docs' "noe" spelling
        # makes the server's word for "none" uncertain, the default is not).
        body: dict[str, Any] = plain_campaign(campaign)
        body.update(body.pop("content", {}))
        if body.get("repeat") == CampaignRepeat.NONE.value:
            del body["repeat"]
        return body

    converter.register_unstructure_hook(NewCampaign, unstructure_campaign)
