-- Reseller registration links (issue 5, T8): each reseller has at most one
-- link where a new company registers itself as its affiliate. Only a
-- SHA-256 of the link's 256-bit secret is stored; rotating replaces it,
-- disabling removes the row. `created_by` is the person who made it (no
-- foreign key: people are purged with their companies).
CREATE TABLE registration_links (
    company_id INTEGER PRIMARY KEY REFERENCES companies(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    created_by INTEGER
);
