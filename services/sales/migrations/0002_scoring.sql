-- Lead scoring: rules, the threshold, every scored event, the running score, qualifications.
CREATE TABLE scoring_rules (
    id            uuid PRIMARY KEY,
    kind          text             NOT NULL,  -- track | page | email_opened | email_clicked | order_placed | ticket_opened
    match         text             NOT NULL DEFAULT '',  -- track name (lower-case) or page path; '' for the others
    points        int              NOT NULL,
    decay_per_day double precision,
    created_at    timestamptz      NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE UNIQUE INDEX scoring_rules_live ON scoring_rules (kind, match) WHERE deleted_at IS NULL;

CREATE TABLE scoring_settings (
    id         int PRIMARY KEY CHECK (id = 1),
    qualify_at double precision NOT NULL,
    updated_at timestamptz      NOT NULL DEFAULT now()
);
INSERT INTO scoring_settings (id, qualify_at) VALUES (1, 100);

-- One row per scored event and customer: a replayed event is never counted twice.
CREATE TABLE score_history (
    customer_id   uuid             NOT NULL,
    event_id      uuid             NOT NULL,
    rule_id       uuid             NOT NULL REFERENCES scoring_rules (id),
    kind          text             NOT NULL,
    label         text,
    points        int              NOT NULL,
    decay_per_day double precision,
    occurred_at   timestamptz      NOT NULL,
    fades_out_at  timestamptz,  -- when a decaying entry reaches zero
    recorded_at   timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, event_id)
);
CREATE INDEX score_history_recent ON score_history (customer_id, occurred_at DESC, event_id);
CREATE INDEX score_history_fading ON score_history (customer_id, fades_out_at)
    WHERE decay_per_day IS NOT NULL;

-- The running sum of the entries that never decay; decaying entries are summed when read.
CREATE TABLE lead_scores (
    customer_id  uuid PRIMARY KEY,
    steady_score bigint      NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per customer, ever: LeadQualified is emitted when this row is inserted.
CREATE TABLE lead_qualifications (
    customer_id  uuid PRIMARY KEY,
    score        double precision NOT NULL,
    threshold    double precision NOT NULL,
    qualified_at timestamptz      NOT NULL DEFAULT now()
);

-- Customers merged away by contacts: their later events count for the survivor.
CREATE TABLE merged_customers (
    merged_id   uuid PRIMARY KEY,
    survivor_id uuid        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
