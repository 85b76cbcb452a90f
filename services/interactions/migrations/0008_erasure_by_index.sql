-- An erasure reads and deletes what carries the person's identifiers: raw calls by visitor and
-- user id, orders by email and loyalty id, whoever they are attributed to. Only the calls and
-- orders waiting for their customer had an index on those columns, so each erasure scanned both
-- tables while holding the attribution lock that every tracking request waits for. Attributed
-- rows (known customers') now have theirs; a visitor's call still takes no extra entry.
CREATE INDEX interactions_attributed_anonymous ON interactions (anonymous_id)
    WHERE customer_id IS NOT NULL AND anonymous_id IS NOT NULL;
CREATE INDEX interactions_attributed_user ON interactions (user_id)
    WHERE customer_id IS NOT NULL AND user_id IS NOT NULL;
CREATE INDEX orders_attributed_email ON orders (email)
    WHERE customer_id IS NOT NULL AND email IS NOT NULL;
CREATE INDEX orders_attributed_loyalty ON orders (loyalty_id)
    WHERE customer_id IS NOT NULL AND loyalty_id IS NOT NULL;
