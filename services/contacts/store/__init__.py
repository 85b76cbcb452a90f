"""All of the contacts service's SQL. State and outbox rows are written in one transaction."""
