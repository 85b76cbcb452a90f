-- Reads that walked whole tables (bench/RESULTS.md, "Reads that walked whole tables"): the
-- customers merged into one (erasure and export follow the tree) and the merges a customer was
-- merged away by (erasure, export, the audit).
CREATE INDEX customers_merged_into ON customers (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX merges_merged ON merges (merged_id);
