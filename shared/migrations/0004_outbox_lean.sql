-- Fewer index entries per event. Event ids are generated (uuid4) and never looked up, so their
-- unique index only cost writes; published rows are purged in id order (the oldest come first)
-- instead of through an index on published_at, which every relay update had to maintain.
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_event_id_key;
DROP INDEX IF EXISTS outbox_published_at;
