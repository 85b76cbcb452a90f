-- The relay's read floor (shared.relay_floor): every outbox row with an id at or below it is
-- published, so the relay's reads and the backlog counts start above it instead of walking the
-- dead index entries of every row published since the last vacuum.

-- An outbox id is taken only by a transaction that already has its transaction id (xid). The
-- floor's proof that no row can still appear below it rests on this order: once every
-- transaction older than a given xid has ended, every id handed out before that xid was
-- assigned is visible. With a plain nextval() default an insert takes its id first and its xid
-- only when it writes the row. The CASE fixes the order (its condition is evaluated first).
ALTER TABLE outbox ALTER COLUMN id
    SET DEFAULT CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('outbox_id_seq') END;

-- Written by the relay in the transaction that marks the rows published; a replay lowers it to
-- just below the first row it queues and counts itself, so a relay whose read came before the
-- replay cannot raise it again.
CREATE TABLE IF NOT EXISTS outbox_floor (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    id       bigint  NOT NULL DEFAULT 0,
    replays  bigint  NOT NULL DEFAULT 0
);
INSERT INTO outbox_floor DEFAULT VALUES ON CONFLICT DO NOTHING;
