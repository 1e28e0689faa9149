-- One-time links to set or reset a password (issue 4). Only a hash of the
-- link's secret is stored.
CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    purpose TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX password_links_user ON password_links(user_id);
