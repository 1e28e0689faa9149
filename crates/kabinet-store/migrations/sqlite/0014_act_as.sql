-- Entering a client's cabinet (issue 5, M4, X10): a time-limited grant for
-- one person to act inside one company, with its reason; the credential is
-- stored as the SHA-256 of its secret.
CREATE TABLE act_as_grants (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    company_id INTEGER NOT NULL REFERENCES companies(id),
    reason TEXT NOT NULL,
    read_only INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX act_as_grants_user ON act_as_grants(user_id);
CREATE INDEX act_as_grants_company ON act_as_grants(company_id);
