"""All of the interactions service's SQL."""
