-- An erasure deletes what merges moved to or from the customer: by survivor as well as by the
-- merged customer, which the primary key alone serves.
CREATE INDEX IF NOT EXISTS merge_moves_survivor ON merge_moves (survivor_id);
