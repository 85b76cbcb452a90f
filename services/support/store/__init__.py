"""All of the support service's SQL. State and outbox rows are written in one transaction."""
