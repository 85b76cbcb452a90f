"""Support HTTP routes, one module per use case."""

from services.support.api import csat, kb, sla, threads, tickets

routers = [tickets.router, threads.router, sla.router, csat.router, kb.router]
