-- Identities the consumer linked without holding up ingestion. Written with the link; once every
-- tracking or order request that could have read the links before it has ended, the identity's
-- calls and orders are attributed again, and the row goes (services/interactions/stitch_followup.py).
-- `customer_id` is the customer linked then (erasure deletes by it); the follow-up reads the link.
CREATE TABLE attribution_followups (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL,
    value       text NOT NULL,
    customer_id uuid NOT NULL
);
