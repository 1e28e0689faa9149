-- Group companies (issue 5, M1, M5): a company flagged as a group company
-- links client companies that share its INN; the group's admins act on the
-- linked clients. `created_by` is the person who linked (no foreign key:
-- people are purged with their companies, the link may outlive them).
ALTER TABLE companies ADD COLUMN is_group_company INTEGER NOT NULL DEFAULT 0;
CREATE TABLE group_links (
    group_company_id INTEGER NOT NULL REFERENCES companies(id),
    client_company_id INTEGER NOT NULL REFERENCES companies(id),
    created_at INTEGER NOT NULL,
    created_by INTEGER,
    PRIMARY KEY (group_company_id, client_company_id)
);
CREATE INDEX group_links_client ON group_links(client_company_id);
-- A client is found by its multichannel number (stored in E.164).
CREATE INDEX companies_multichannel_number ON companies(multichannel_number);
