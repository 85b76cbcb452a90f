-- Web channel: every accepted Segment-style call, stored as received (deduplicated on messageId).
CREATE TABLE interactions (
    id           uuid PRIMARY KEY,
    message_id   text        NOT NULL,
    kind         text        NOT NULL,  -- track | page | screen | identify | group | alias
    channel      text        NOT NULL,  -- web | mobile
    name         text,
    anonymous_id text,
    user_id      text,
    customer_id  uuid,
    group_id     text,
    previous_id  text,
    properties   jsonb       NOT NULL DEFAULT '{}',
    traits       jsonb       NOT NULL DEFAULT '{}',
    context      jsonb       NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL,  -- timestamp corrected for the client's clock skew
    sent_at      timestamptz,
    received_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX interactions_message_id ON interactions (message_id);
CREATE INDEX interactions_pending_anonymous ON interactions (anonymous_id) WHERE customer_id IS NULL;
CREATE INDEX interactions_pending_user ON interactions (user_id) WHERE customer_id IS NULL;
CREATE INDEX interactions_customer ON interactions (customer_id);

-- Store channel: orders, idempotent on (store_id, order_id).
CREATE TABLE orders (
    id          uuid PRIMARY KEY,
    store_id    text        NOT NULL,
    order_id    text        NOT NULL,
    customer_id uuid,
    email       text,
    loyalty_id  text,
    channel     text        NOT NULL,
    currency    text        NOT NULL,
    subtotal    numeric(14, 2),
    tax         numeric(14, 2),
    shipping    numeric(14, 2),
    discount    numeric(14, 2),
    total       numeric(14, 2) NOT NULL,
    lines       jsonb       NOT NULL,
    placed_at   timestamptz NOT NULL,
    fingerprint text        NOT NULL,  -- of the normalised content: a different repeat is a 409
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (store_id, order_id)
);
CREATE INDEX orders_customer ON orders (customer_id, placed_at DESC);
CREATE INDEX orders_pending_email ON orders (email) WHERE customer_id IS NULL;
CREATE INDEX orders_pending_loyalty ON orders (loyalty_id) WHERE customer_id IS NULL;

-- What contacts told us: which customer an anonymous id, user id, email or loyalty id is.
CREATE TABLE identity_links (
    kind        text        NOT NULL,
    value       text        NOT NULL,
    customer_id uuid        NOT NULL,
    linked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, value)
);
CREATE INDEX identity_links_customer ON identity_links (customer_id);

-- Merged customers resolve to their survivor; deleted ones are never recreated by late events.
CREATE TABLE merged_customers (
    merged_id   uuid PRIMARY KEY,
    survivor_id uuid        NOT NULL,
    merged_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE deleted_customers (
    customer_id uuid PRIMARY KEY,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);

-- The unified timeline: one row per touch, from every channel and service.
CREATE TABLE timeline (
    id           uuid PRIMARY KEY,
    ref          text        NOT NULL,  -- what the touch is: interaction id, order, or event id
    customer_id  uuid,                  -- null while the visitor is anonymous
    anonymous_id text,
    user_id      text,
    channel      text        NOT NULL,
    type         text        NOT NULL,
    summary      text        NOT NULL,
    source       text        NOT NULL,  -- the owning service
    occurred_at  timestamptz NOT NULL,
    data         jsonb       NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX timeline_ref ON timeline (ref);
CREATE INDEX timeline_customer ON timeline (customer_id, occurred_at DESC, id DESC);
CREATE INDEX timeline_pending_anonymous ON timeline (anonymous_id) WHERE customer_id IS NULL;
CREATE INDEX timeline_pending_user ON timeline (user_id) WHERE customer_id IS NULL;

CREATE TABLE customer_metrics (
    customer_id   uuid PRIMARY KEY,
    first_seen    timestamptz,
    last_seen     timestamptz,
    touches       jsonb       NOT NULL DEFAULT '{}',
    orders_count  int         NOT NULL DEFAULT 0,
    total_spent   numeric(16, 2) NOT NULL DEFAULT 0,
    last_order_at timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
