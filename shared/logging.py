"""structlog JSON logs; request id, event id and customer id bound through contextvars."""

from __future__ import annotations

import logging
import sys

import structlog

_configured = False


def configure_logging(service: str, level: str = "info") -> None:
    global _configured
    if _configured:
        return
    _configured = True
    numeric = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stdout, level=numeric, format="%(message)s")
    # httpx logs every request at INFO: the ops collector's scrapes, a dozen lines a second
    for noisy in ("aiokafka", "faststream", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


def redact_email(email: str | None) -> str | None:
    """Logs never carry a full address at info level: keep the domain only."""
    if not email or "@" not in email:
        return None
    return "***@" + email.rsplit("@", 1)[1]
