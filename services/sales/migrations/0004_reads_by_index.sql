-- Reads that walked whole tables (bench/RESULTS.md, "Reads that walked whole tables"):
-- the customers merged into a survivor (merges, erasure);
CREATE INDEX merged_customers_survivor ON merged_customers (survivor_id);
-- a pipeline stage's deals, a page at a time in id order.
CREATE INDEX deals_pipeline_stage_page ON deals (pipeline_id, stage, id);
DROP INDEX deals_pipeline_stage;
