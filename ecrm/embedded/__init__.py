"""The embedded local stack behind `ecrm up`: real PostgreSQL, Tansu, Caddy and an SMTP sink.

Each part is a child process of one asyncio supervisor (`supervisor.py`); `stack.py` wires them
with the services and the portal. Entry points: `stack.run_stack` (foreground, for the CLI) and
`stack.EmbeddedStack` (a stack in a subprocess, for test fixtures and benchmarks).
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PORTAL_SERVICES_ENV = "ECRM_PORTAL_SERVICES"  # the services the portal reports on, comma-separated
