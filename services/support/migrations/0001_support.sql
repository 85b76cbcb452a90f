-- Who asks for help: an address, and the contacts customer it resolved to (a projection).
CREATE TABLE requesters (
    email        text PRIMARY KEY,
    customer_id  uuid,
    request_id   uuid,
    requested_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX requesters_customer ON requesters (customer_id);

-- Response and resolution targets per priority, in seconds.
CREATE TABLE sla_policies (
    priority                text PRIMARY KEY,
    first_response_seconds  int  NOT NULL CHECK (first_response_seconds > 0),
    resolution_seconds      int  NOT NULL CHECK (resolution_seconds > 0),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sla_policies (priority, first_response_seconds, resolution_seconds) VALUES
    ('urgent', 900, 14400),
    ('high', 3600, 28800),
    ('normal', 14400, 86400),
    ('low', 28800, 259200);

CREATE TABLE tickets (
    id                          uuid PRIMARY KEY,
    ref                         bigserial UNIQUE,
    subject                     text        NOT NULL,
    status                      text        NOT NULL DEFAULT 'new',
    priority                    text        NOT NULL DEFAULT 'normal',
    channel                     text        NOT NULL,
    requester_email             text,
    customer_id                 uuid,
    assignee                    text,
    team                        text,
    tags                        text[]      NOT NULL DEFAULT '{}',
    version                     int         NOT NULL DEFAULT 1,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    first_response_at           timestamptz,
    resolved_at                 timestamptz,
    closed_at                   timestamptz,
    merged_into                 uuid REFERENCES tickets (id),
    follow_up_of                uuid REFERENCES tickets (id),
    -- SLA clock: deadlines move forward by the time spent paused (pending or resolved).
    first_response_due          timestamptz,
    resolution_due              timestamptz,
    sla_paused_at               timestamptz,
    first_response_breached_at  timestamptz,
    resolution_breached_at      timestamptz
);
CREATE INDEX tickets_requester ON tickets (requester_email, id);
CREATE INDEX tickets_customer ON tickets (customer_id);
CREATE INDEX tickets_status ON tickets (status, id);
CREATE INDEX tickets_first_response_due ON tickets (first_response_due)
    WHERE first_response_at IS NULL AND first_response_breached_at IS NULL
      AND status IN ('new', 'open');
CREATE INDEX tickets_resolution_due ON tickets (resolution_due)
    WHERE resolution_breached_at IS NULL AND status IN ('new', 'open');

CREATE TABLE ticket_messages (
    id          uuid PRIMARY KEY,
    ticket_id   uuid        NOT NULL REFERENCES tickets (id),
    author      text        NOT NULL,
    author_kind text        NOT NULL,
    visibility  text        NOT NULL,
    channel     text        NOT NULL,
    body        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, id);

CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    message_id   uuid        NOT NULL REFERENCES ticket_messages (id) ON DELETE CASCADE,
    filename     text        NOT NULL,
    content_type text        NOT NULL,
    size         int         NOT NULL,
    data         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message ON attachments (message_id);

-- Every RFC 5322 Message-ID seen or sent on a ticket: how replies find their thread.
CREATE TABLE mail_ids (
    message_id text PRIMARY KEY,
    ticket_id  uuid        NOT NULL REFERENCES tickets (id),
    direction  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_ids_ticket ON mail_ids (ticket_id, created_at);

-- Mail to requesters, written with the message in one transaction; a sender delivers it.
CREATE TABLE outgoing_mail (
    id              uuid PRIMARY KEY,
    ticket_id       uuid        NOT NULL REFERENCES tickets (id),
    ticket_message  uuid REFERENCES ticket_messages (id),
    kind            text        NOT NULL,
    rfc_message_id  text        NOT NULL UNIQUE,
    to_addr         text        NOT NULL,
    subject         text        NOT NULL,
    body            text        NOT NULL,
    in_reply_to     text,
    references_ids  text[]      NOT NULL DEFAULT '{}',
    status          text        NOT NULL DEFAULT 'pending',
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outgoing_mail_due ON outgoing_mail (next_attempt_at) WHERE status = 'pending';

-- Inbound mail we accepted but could not turn into a ticket message, with the reason.
CREATE TABLE quarantined_mail (
    id          uuid PRIMARY KEY,
    mail_from   text,
    rcpt_to     text[]      NOT NULL DEFAULT '{}',
    reason      text        NOT NULL,
    raw         bytea       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE csat_ratings (
    ticket_id uuid PRIMARY KEY REFERENCES tickets (id),
    rating    int         NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment   text,
    rated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kb_articles (
    id           uuid PRIMARY KEY,
    title        text        NOT NULL,
    body         text        NOT NULL,
    category     text,
    tags         text[]      NOT NULL DEFAULT '{}',
    status       text        NOT NULL DEFAULT 'draft',
    views        bigint      NOT NULL DEFAULT 0,
    version      int         NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    search       tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(category, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(body, '')), 'C')
    ) STORED
);
CREATE INDEX kb_articles_search ON kb_articles USING gin (search);
CREATE INDEX kb_articles_status ON kb_articles (status, id);
CREATE INDEX kb_articles_category ON kb_articles (category, id);
