-- A customer's touches per channel, kept up to date instead of counted again from the whole
-- timeline at every refresh of the figures (a refresh cost ~0.3 us per touch the customer ever
-- had: 29 ms for 100,000; bench/RESULTS.md, "A customer's figures cost their whole history").
--
-- Every statement that changes the timeline leaves deltas, from these triggers, in its own
-- transaction. Writers only insert them, so they never wait for each other; the refresh, which
-- holds the figures' lock, folds a customer's deltas into `touch_counts`
-- (services/interactions/store/metrics.py). New entries leave their counts. Entries that move
-- to another customer or go leave a mark with no channel instead: that customer is counted
-- again from the timeline at its next refresh. Which entries are touches is decided there.
CREATE TABLE touch_counts (
    customer_id uuid        NOT NULL,
    channel     text        NOT NULL,
    n           bigint      NOT NULL,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    PRIMARY KEY (customer_id, channel)
);

CREATE TABLE touch_deltas (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id uuid NOT NULL,
    channel     text,  -- NULL: count the customer again from the timeline
    type        text,
    n           bigint,
    first_seen  timestamptz,
    last_seen   timestamptz
);
CREATE INDEX touch_deltas_customer ON touch_deltas (customer_id);

CREATE FUNCTION timeline_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO touch_deltas (customer_id, channel, type, n, first_seen, last_seen)
    SELECT customer_id, channel, type, count(*), min(occurred_at), max(occurred_at)
    FROM added WHERE customer_id IS NOT NULL
    GROUP BY customer_id, channel, type;
    RETURN NULL;
END $$;

CREATE FUNCTION timeline_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO touch_deltas (customer_id)
    SELECT DISTINCT owner FROM before b JOIN after a USING (id),
        unnest(ARRAY[b.customer_id, a.customer_id]) AS owner  -- the old owner and the new
    WHERE owner IS NOT NULL AND (b.customer_id, b.channel, b.type, b.occurred_at)
          IS DISTINCT FROM (a.customer_id, a.channel, a.type, a.occurred_at);
    RETURN NULL;
END $$;

CREATE FUNCTION timeline_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO touch_deltas (customer_id)
    SELECT DISTINCT customer_id FROM gone WHERE customer_id IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER timeline_added AFTER INSERT ON timeline
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION timeline_added();
CREATE TRIGGER timeline_moved AFTER UPDATE ON timeline
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION timeline_moved();
CREATE TRIGGER timeline_removed AFTER DELETE ON timeline
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION timeline_removed();

-- Customers known before this migration are counted from their timeline at their next refresh.
INSERT INTO touch_deltas (customer_id)
SELECT DISTINCT customer_id FROM timeline WHERE customer_id IS NOT NULL;
