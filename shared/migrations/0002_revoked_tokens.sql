-- Revoked bearer tokens (by token id). `ecrm token revoke` writes a row into every service's
-- database; each service reloads the list every second, so no restart is needed.
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti        text PRIMARY KEY,
    expires_at timestamptz,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
