-- One-time links to set or reset a password (issue 4). Only a hash of the
-- link's secret is stored.
CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_links_user ON password_links(user_id);
