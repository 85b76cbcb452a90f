-- Analytics keeps aggregates and the few per-entity facts the aggregates need to stay exact
-- (a message opened twice, a ticket answered twice and an order seen twice count once).

-- Throughput: events per minute, type and channel.
CREATE TABLE event_counts (
    minute     timestamptz NOT NULL,
    event_type text        NOT NULL,
    channel    text        NOT NULL,
    count      bigint      NOT NULL,
    PRIMARY KEY (minute, event_type, channel)
);

-- The campaign funnel: one row per message, each stage stamped once (its first time).
CREATE TABLE campaigns (
    campaign_id text PRIMARY KEY,
    name        text,
    segment_id  text,
    recipients  int,
    launched_at timestamptz
);

CREATE TABLE campaign_messages (
    message_id      text PRIMARY KEY,
    campaign_id     text,
    journey_id      text,
    customer_id     text,
    sent_at         timestamptz,
    opened_at       timestamptz,
    clicked_at      timestamptz,
    unsubscribed_at timestamptz,
    bounced_at      timestamptz,
    bounce_permanent boolean
);
CREATE INDEX campaign_messages_campaign ON campaign_messages (campaign_id);
CREATE INDEX campaign_messages_journey ON campaign_messages (journey_id)
    WHERE journey_id IS NOT NULL;
CREATE INDEX campaign_messages_customer ON campaign_messages (customer_id, sent_at DESC);

-- An unsubscribe seen before the message it answers (topics are read independently): kept
-- until the send arrives, then attributed.
CREATE TABLE pending_unsubscribes (
    customer_id text        PRIMARY KEY,
    at          timestamptz NOT NULL
);

-- Support: one row per ticket for first response, breaches and satisfaction.
CREATE TABLE tickets (
    ticket_id         text PRIMARY KEY,
    channel           text,
    priority          text,
    opened_at         timestamptz,
    first_response_at timestamptz,
    sla_breached_at   timestamptz,
    rating            int,
    rated_at          timestamptz
);
CREATE INDEX tickets_opened_at ON tickets (opened_at);
CREATE INDEX tickets_rated_at ON tickets (rated_at) WHERE rating IS NOT NULL;

-- A ticket can be resolved, reopened and resolved again: each resolution counts on its day.
CREATE TABLE ticket_resolutions (
    day   date   PRIMARY KEY,
    count bigint NOT NULL
);

CREATE TABLE sla_breaches (
    ticket_id   text        NOT NULL,
    target      text        NOT NULL,
    breached_at timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, target)
);
CREATE INDEX sla_breaches_at ON sla_breaches (breached_at);

-- Commerce: one row per order (store, order id), summed per channel and day when read.
CREATE TABLE orders (
    store_id  text          NOT NULL,
    order_id  text          NOT NULL,
    channel   text          NOT NULL,
    currency  text          NOT NULL,
    total     numeric(14,2) NOT NULL,
    placed_at timestamptz   NOT NULL,
    PRIMARY KEY (store_id, order_id)
);
CREATE INDEX orders_placed_at ON orders (placed_at);
