-- A row set unpublished by hand (`UPDATE outbox SET published_at = NULL ...`) at or below the
-- relay's floor (shared.relay_floor): the floor goes below it in the same transaction, the way
-- `ecrm replay` lowers it, and the relay's session hears of it on commit. Counting it as a replay
-- keeps a relay read from before it from raising the stored floor again. Replays lower the floor
-- in their own statement first, so for them this finds nothing to do. The relay's own updates
-- set `published_at`, never clear it: the WHEN condition keeps the function from running for them.
CREATE OR REPLACE FUNCTION outbox_floor_below_unpublished() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lowered bigint;
BEGIN
    UPDATE outbox_floor SET id = NEW.id - 1, replays = replays + 1
    WHERE id >= NEW.id
    RETURNING id INTO lowered;
    IF lowered IS NOT NULL THEN
        PERFORM pg_notify('ecrm_outbox', 'floor:' || lowered);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS outbox_unpublished_by_hand ON outbox;
CREATE TRIGGER outbox_unpublished_by_hand
    AFTER UPDATE OF published_at ON outbox
    FOR EACH ROW WHEN (OLD.published_at IS NOT NULL AND NEW.published_at IS NULL)
    EXECUTE FUNCTION outbox_floor_below_unpublished();
