"""A Twilio-compatible endpoint, so Twilio SDKs and tools work by changing the base URL."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("twilio", __name__, url_prefix="/2010-04-01")
