-- Entering a client's cabinet (issue 5, M4, X10): a time-limited grant for
-- one person to act inside one company, with its reason; the credential is
-- stored as the SHA-256 of its secret.
CREATE TABLE act_as_grants (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    company_id BIGINT NOT NULL REFERENCES companies(id),
    reason TEXT NOT NULL,
    read_only BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX act_as_grants_user ON act_as_grants(user_id);
CREATE INDEX act_as_grants_company ON act_as_grants(company_id);
