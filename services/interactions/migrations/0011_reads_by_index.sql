-- Reads that walked whole tables (bench/RESULTS.md, "Reads that walked whole tables"):
-- the orders listing, newest first, of every store or of one;
CREATE INDEX orders_placed ON orders (placed_at DESC, id DESC);
CREATE INDEX orders_store_placed ON orders (store_id, placed_at DESC, id DESC);
-- the customers merged into a survivor (merges, erasure, export).
CREATE INDEX merged_customers_survivor ON merged_customers (survivor_id);
