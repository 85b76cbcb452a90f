CREATE TABLE customers (
    id          uuid PRIMARY KEY,
    email       text,
    phone       text,
    first_name  text,
    last_name   text,
    company     text,
    tags        text[]      NOT NULL DEFAULT '{}',
    attributes  jsonb       NOT NULL DEFAULT '{}',
    stage       text        NOT NULL DEFAULT 'lead',
    consent     jsonb       NOT NULL DEFAULT '{}',
    version     int         NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    merged_into uuid REFERENCES customers (id),
    deleted_at  timestamptz,
    erased_at   timestamptz
);
-- One live customer per address; merged, deleted and erased rows give theirs up.
CREATE UNIQUE INDEX customers_email_live ON customers (email)
    WHERE merged_into IS NULL AND deleted_at IS NULL AND erased_at IS NULL;
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX customers_tags ON customers USING gin (tags);
CREATE INDEX customers_stage ON customers (stage, id);
CREATE INDEX customers_updated ON customers (updated_at);
CREATE INDEX customers_first_name ON customers (lower(first_name) text_pattern_ops);
CREATE INDEX customers_last_name ON customers (lower(last_name) text_pattern_ops);

-- External identities: web anonymous ids, user ids, loyalty ids, and the addresses of merged customers.
CREATE TABLE identities (
    kind        text        NOT NULL,
    value       text        NOT NULL,
    customer_id uuid        NOT NULL REFERENCES customers (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_customer ON identities (customer_id);

CREATE TABLE consent_history (
    id          bigserial PRIMARY KEY,
    customer_id uuid        NOT NULL REFERENCES customers (id),
    channel     text        NOT NULL,
    state       text        NOT NULL,
    source      text        NOT NULL,
    legal_basis text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_history_customer ON consent_history (customer_id, id);

-- What each merge moved, so it can be audited (and undone).
CREATE TABLE merges (
    id           bigserial PRIMARY KEY,
    survivor_id  uuid        NOT NULL REFERENCES customers (id),
    merged_id    uuid        NOT NULL REFERENCES customers (id),
    moved        jsonb       NOT NULL,
    requested_by text        NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    undone_at    timestamptz
);
CREATE INDEX merges_pair ON merges (survivor_id, merged_id);
