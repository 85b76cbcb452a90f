-- Tracking write keys managed by `ecrm writekey rotate` (only their SHA-256 is stored).
-- A key configured through ECRM_WRITE_KEYS stays valid unless a row here retires it.
CREATE TABLE write_keys (
    key_hash   text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
