"""Every area of the panel, imported so that its views register on the blueprint."""

from web.panel import (  # noqa: F401
    account,
    api_keys,
    archive,
    audit_log,
    contacts,
    dashboard,
    inbox,
    lines,
    people,
    settings_page,
    webhooks_page,
)
