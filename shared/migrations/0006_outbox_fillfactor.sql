-- Room on each page for the relay's update of the rows it holds (published_at, set once). An
-- update that stays on its page is logged as the bytes that changed (~10) instead of the whole
-- new row (~500 bytes of WAL per event); new pages are filled to half, purged ones reused.
ALTER TABLE outbox SET (fillfactor = 50);
