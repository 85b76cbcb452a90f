-- The audience: what campaigns knows of each customer, projected from other services' events.
CREATE TABLE audience (
    customer_id     uuid PRIMARY KEY,
    known           boolean     NOT NULL DEFAULT false,  -- a contacts snapshot was seen
    live            boolean     NOT NULL DEFAULT false,  -- known, not deleted, not merged away
    email           text,
    first_name      text,
    last_name       text,
    company         text,
    phone           text,
    tags            text[]      NOT NULL DEFAULT '{}',
    attributes      jsonb       NOT NULL DEFAULT '{}',
    stage           text        NOT NULL DEFAULT 'lead',
    consent         jsonb       NOT NULL DEFAULT '{}',
    contact_version int         NOT NULL DEFAULT 0,
    orders_count    int         NOT NULL DEFAULT 0,
    total_spent     numeric     NOT NULL DEFAULT 0,
    last_seen       timestamptz,
    merged_into     uuid,
    deleted_at      timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audience_live ON audience (customer_id) WHERE live;
CREATE INDEX audience_tags ON audience USING gin (tags);
CREATE INDEX audience_email ON audience (lower(email));

-- Named events per customer (track names, "Order Placed"), for `event` rules.
CREATE TABLE audience_events (
    source_id   text        PRIMARY KEY,
    customer_id uuid        NOT NULL,
    name        text        NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX audience_events_lookup ON audience_events (customer_id, name, at);

CREATE TABLE segments (
    id           uuid PRIMARY KEY,
    name         text        NOT NULL,
    rule         jsonb       NOT NULL,
    member_count int         NOT NULL DEFAULT 0,
    built_at     timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE segment_members (
    segment_id  uuid        NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    customer_id uuid        NOT NULL,
    entered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, customer_id)
);
CREATE INDEX segment_members_customer ON segment_members (customer_id);

CREATE TABLE campaigns (
    id           uuid PRIMARY KEY,
    name         text        NOT NULL,
    segment_id   uuid        NOT NULL REFERENCES segments (id),
    subject      text        NOT NULL,
    html         text        NOT NULL,
    from_address text        NOT NULL,
    status       text        NOT NULL DEFAULT 'draft',  -- draft | scheduled | launched
    scheduled_at timestamptz,
    launched_at  timestamptz,
    recipients   int,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_due ON campaigns (scheduled_at) WHERE status = 'scheduled';

CREATE TABLE journeys (
    id            uuid PRIMARY KEY,
    name          text        NOT NULL,
    trigger       text        NOT NULL,  -- customer_created | ticket_resolved | order_placed
    delay_seconds int         NOT NULL DEFAULT 0,
    condition     jsonb,
    subject       text        NOT NULL,
    html          text        NOT NULL,
    from_address  text        NOT NULL,
    transactional boolean     NOT NULL DEFAULT false,
    enabled       boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX journeys_trigger ON journeys (trigger) WHERE enabled;

-- One row per mail. status: pending -> sending -> sent | bounced | failed | skipped;
-- a row left in `sending` past the claim timeout becomes `unknown` (never retried).
CREATE TABLE messages (
    id               uuid PRIMARY KEY,
    campaign_id      uuid REFERENCES campaigns (id),
    journey_id       uuid REFERENCES journeys (id),
    trigger_event_id uuid,
    customer_id      uuid        NOT NULL,
    email            text,
    context          jsonb       NOT NULL DEFAULT '{}',
    status           text        NOT NULL DEFAULT 'pending',
    attempts         int         NOT NULL DEFAULT 0,
    send_after       timestamptz NOT NULL DEFAULT now(),
    claimed_at       timestamptz,
    sent_at          timestamptz,
    subject          text,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX messages_campaign_customer ON messages (campaign_id, customer_id)
    WHERE campaign_id IS NOT NULL;
CREATE UNIQUE INDEX messages_journey_trigger ON messages (journey_id, trigger_event_id)
    WHERE journey_id IS NOT NULL;
CREATE INDEX messages_due ON messages (send_after) WHERE status = 'pending';
CREATE INDEX messages_sending ON messages (claimed_at) WHERE status = 'sending';

CREATE TABLE opens (
    id         bigserial PRIMARY KEY,
    message_id uuid        NOT NULL REFERENCES messages (id),
    user_agent text,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opens_message ON opens (message_id);

CREATE TABLE clicks (
    id         bigserial PRIMARY KEY,
    message_id uuid        NOT NULL REFERENCES messages (id),
    url        text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clicks_message ON clicks (message_id);

CREATE TABLE unsubscribes (
    message_id  uuid PRIMARY KEY REFERENCES messages (id),
    customer_id uuid        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);

-- Addresses never mailed again (permanent SMTP refusals).
CREATE TABLE suppressions (
    email      text PRIMARY KEY,
    reason     text        NOT NULL,
    message_id uuid,
    at         timestamptz NOT NULL DEFAULT now()
);
