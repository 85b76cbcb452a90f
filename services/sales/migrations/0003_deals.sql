-- Pipelines with ordered stages, deals moving through them, their history and activities.
CREATE TABLE pipelines (
    id         text PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pipeline_stages (
    pipeline_id text             NOT NULL REFERENCES pipelines (id),
    name        text             NOT NULL,
    position    int              NOT NULL,
    probability double precision NOT NULL CHECK (probability BETWEEN 0 AND 1),
    outcome     text             CHECK (outcome IN ('won', 'lost')),
    PRIMARY KEY (pipeline_id, name),
    UNIQUE (pipeline_id, position)
);

INSERT INTO pipelines (id, name) VALUES ('default', 'Default pipeline');
INSERT INTO pipeline_stages (pipeline_id, name, position, probability, outcome) VALUES
    ('default', 'qualification', 0, 0.1, NULL),
    ('default', 'proposal',      1, 0.3, NULL),
    ('default', 'negotiation',   2, 0.6, NULL),
    ('default', 'won',           3, 1.0, 'won'),
    ('default', 'lost',          4, 0.0, 'lost');

CREATE TABLE deals (
    id               uuid PRIMARY KEY,
    pipeline_id      text          NOT NULL REFERENCES pipelines (id),
    name             text          NOT NULL,
    customer_id      uuid          NOT NULL,
    account_id       uuid REFERENCES accounts (id),
    amount           numeric(18, 2) NOT NULL,
    currency         text          NOT NULL,
    stage            text          NOT NULL,
    stage_entered_at timestamptz   NOT NULL,
    expected_close   date,
    owner            text,
    lost_reason      text,
    closed_at        timestamptz,
    version          int           NOT NULL DEFAULT 1,
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now(),
    FOREIGN KEY (pipeline_id, stage) REFERENCES pipeline_stages (pipeline_id, name)
);
CREATE INDEX deals_pipeline_stage ON deals (pipeline_id, stage);
CREATE INDEX deals_customer ON deals (customer_id, id);
CREATE INDEX deals_account ON deals (account_id, id);
CREATE INDEX deals_owner ON deals (owner, id);

CREATE TABLE deal_stage_history (
    id         bigserial PRIMARY KEY,
    deal_id    uuid        NOT NULL REFERENCES deals (id),
    from_stage text,
    to_stage   text        NOT NULL,
    at         timestamptz NOT NULL,
    by         text
);
CREATE INDEX deal_stage_history_deal ON deal_stage_history (deal_id, id);

CREATE TABLE deal_activities (
    id         uuid PRIMARY KEY,
    deal_id    uuid        NOT NULL REFERENCES deals (id),
    kind       text        NOT NULL,
    subject    text        NOT NULL,
    body       text,
    due_at     timestamptz,
    done_at    timestamptz,
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deal_activities_deal ON deal_activities (deal_id, id);
CREATE INDEX deal_activities_open_tasks ON deal_activities (due_at, id)
    WHERE kind = 'task' AND done_at IS NULL;
