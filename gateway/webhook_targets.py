"""Checking a webhook's address when it is added, not only when it is sent to.

The sender (``gateway.delivery``) resolves names and checks every address at each attempt;
a URL that names an address it would refuse anyway (cloud metadata, link-local, off the
LAN) is refused here at once, so a person adding it sees why instead of a failed delivery
a minute later. Names are not resolved here: what they point to may change before sending.
"""

from __future__ import annotations

from gateway.config import Config
from gateway.delivery import AddressPolicy
from gateway.webhooks import InvalidWebhookUrl, parse_url


def check_target(config: Config, url: str) -> None:
    """InvalidWebhookUrl when ``url`` is malformed or names an address never sent to."""
    target = parse_url(url)
    address = target.address
    if address is None:
        return
    reason = AddressPolicy(config.webhooks.allow_hosts).refusal(target.host, address)
    if reason is not None:
        raise InvalidWebhookUrl(f"webhooks are not sent there ({reason.removeprefix('refused: ')})")
