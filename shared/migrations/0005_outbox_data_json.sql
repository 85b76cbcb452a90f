-- Event data kept as the JSON text it was written as (`json`, not `jsonb`): the outbox only
-- stores it and hands it to the relay, which sends the text unchanged. jsonb parsed every row
-- into a binary tree on insert and printed it back on every relay read.
ALTER TABLE outbox ALTER COLUMN data TYPE json USING data::json;
