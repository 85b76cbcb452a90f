-- Erasure, replay-safe: the ids and one-way hashes (sha256 of a normalised address or identity
-- value) of erased people. Every consumer drops events that name one of them, so a replay, a
-- consumer group reset or a late event never brings their data back.
CREATE TABLE IF NOT EXISTS erased_subjects (
    value       text PRIMARY KEY,  -- a customer id, or the sha256 hex of an address or identity
    customer_id uuid        NOT NULL,
    erased_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS erased_subjects_customer ON erased_subjects (customer_id);

-- What a merge moved in this service (timeline entries, tickets, score rows...), so an unmerge
-- can move exactly that back.
CREATE TABLE IF NOT EXISTS merge_moves (
    merged_id   uuid        NOT NULL,
    survivor_id uuid        NOT NULL,
    kind        text        NOT NULL,
    item        text        NOT NULL,
    moved_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merged_id, survivor_id, kind, item)
);
