-- The company epoch (issue 6): a counter that every insert, update and
-- delete of a company moves on, in the same transaction, by triggers. An
-- API request by token reads it with the token (one statement), and the
-- server answers a company card from its memory when it read that card at
-- the same epoch, so any change to any company, made by this server,
-- another process or plain SQL, applies to the next request.
-- A column of the authorisation epoch's single row, as the search epoch.
ALTER TABLE auth_epoch ADD COLUMN company_value INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER companies_company_epoch_insert AFTER INSERT ON companies BEGIN
    UPDATE auth_epoch SET company_value = company_value + 1 WHERE id = 1;
END;
CREATE TRIGGER companies_company_epoch_update AFTER UPDATE ON companies BEGIN
    UPDATE auth_epoch SET company_value = company_value + 1 WHERE id = 1;
END;
CREATE TRIGGER companies_company_epoch_delete AFTER DELETE ON companies BEGIN
    UPDATE auth_epoch SET company_value = company_value + 1 WHERE id = 1;
END;
