"""The web process: the LAN API under /api/v1 and the admin panel (``web.panel``).

``create_app`` is the Flask app factory gunicorn loads (``web:create_app()``). Views parse
and check HTTP input, call ``gateway`` functions and render their results; no business
rule lives here.
"""

from __future__ import annotations

from flask import Flask

from gateway.app import Gateway, open_gateway
from gateway.config import Config, load_config


def create_app(config: Config | None = None) -> Flask:
    """Build the app for ``config`` (default: the file ``SMSGW_CONFIG`` or /etc names)."""
    config = config or load_config()
    gateway = open_gateway(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.web.max_body_kb * 1024
    app.json.sort_keys = False  # fields in the documented order
    app.extensions["smsgw"] = gateway

    from web import panel
    from web.api import blueprint as api
    from web.metrics import blueprint as metrics
    from web.problems import install_handlers
    from web.twilio import blueprint as twilio

    install_handlers(app)
    app.register_blueprint(api)
    app.register_blueprint(twilio)
    app.register_blueprint(metrics)
    panel.init_app(app)
    app.secret_key = None  # the panel keeps its sessions in the database, not in cookies
    return app


def gateway_of(app: Flask) -> Gateway:
    gateway: Gateway = app.extensions["smsgw"]
    return gateway
