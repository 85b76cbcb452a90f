-- Merged customers resolve to their survivor: an IdentityLinked naming a merged customer that
-- arrives after the merge (another partition) points the requester at the survivor.
CREATE TABLE IF NOT EXISTS merged_customers (
    merged_id   uuid PRIMARY KEY,
    survivor_id uuid        NOT NULL,
    merged_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS merged_customers_survivor ON merged_customers (survivor_id);
