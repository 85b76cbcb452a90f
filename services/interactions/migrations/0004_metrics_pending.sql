-- Customers whose figures must be recomputed, marked in the transaction that adds their touches
-- and drained by one refresher. Insert-only (no key): a mark made while a refresh runs is never
-- absorbed by it, so no touch is left out of the figures.
CREATE TABLE metrics_pending (
    id          bigserial PRIMARY KEY,
    customer_id uuid NOT NULL
);
