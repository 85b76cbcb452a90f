"""All of the sales service's SQL (asyncpg); state and outbox rows in one transaction."""
