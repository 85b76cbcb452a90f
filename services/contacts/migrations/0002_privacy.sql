-- GDPR requests (erasure, export): one row each, answered by every service of the stack.
CREATE TABLE privacy_requests (
    id           uuid PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('erasure', 'export')),
    customer_id  uuid        NOT NULL REFERENCES customers (id),
    expected     text[]      NOT NULL,  -- the services whose answers complete the request
    requested_by text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    expired_at   timestamptz  -- an export's document was purged (ECRM_PRIVACY_EXPORT_RETENTION_DAYS)
);
CREATE INDEX privacy_requests_customer ON privacy_requests (customer_id, requested_at);

-- One answer per service and request; an export answer carries the service's section.
CREATE TABLE privacy_answers (
    request_id  uuid        NOT NULL REFERENCES privacy_requests (id),
    service     text        NOT NULL,
    section     jsonb,
    answered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, service)
);

-- Who asked for each erasure, export and unmerge, and when (merges are audited in `merges`).
CREATE TABLE privacy_audit (
    id           bigserial PRIMARY KEY,
    action       text        NOT NULL,
    customer_id  uuid        NOT NULL,
    other_id     uuid,
    request_id   uuid,
    requested_by text        NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX privacy_audit_customer ON privacy_audit (customer_id, at);
CREATE INDEX privacy_audit_other ON privacy_audit (other_id, at) WHERE other_id IS NOT NULL;
