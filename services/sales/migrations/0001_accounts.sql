-- Companies, and the customers projection built from contacts' snapshots.
CREATE TABLE accounts (
    id         uuid PRIMARY KEY,
    name       text        NOT NULL,
    domain     text,
    industry   text,
    size       text,
    owner      text,
    version    int         NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_domain ON accounts (domain) WHERE domain IS NOT NULL;
CREATE INDEX accounts_name ON accounts (lower(name) text_pattern_ops);
CREATE INDEX accounts_owner ON accounts (owner, id);

-- What sales knows of each customer: its email domain and the account it belongs to.
CREATE TABLE customers (
    id           uuid PRIMARY KEY,
    email        text,
    domain       text,
    account_id   uuid REFERENCES accounts (id),
    version      int         NOT NULL DEFAULT 0,
    merged_into  uuid,
    deleted_at   timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_domain ON customers (domain) WHERE merged_into IS NULL AND deleted_at IS NULL;
CREATE INDEX customers_account ON customers (account_id, id);
