-- The search epoch (issue 6): a counter that every change able to alter
-- which companies a search word matches moves on, in the same transaction,
-- by triggers: an insert, a delete, and an update that changes a company's
-- search text. The server remembers how many companies a search's words
-- match (its probe, `companies::word_matches`) with the epoch it read
-- before counting, and counts again once the epoch moves, so a change
-- applies to the next search, in every process that opens the file.
-- A column of the authorisation epoch's single row, as on PostgreSQL.
ALTER TABLE auth_epoch ADD COLUMN search_value INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER companies_search_epoch_insert AFTER INSERT ON companies BEGIN
    UPDATE auth_epoch SET search_value = search_value + 1 WHERE id = 1;
END;
CREATE TRIGGER companies_search_epoch_delete AFTER DELETE ON companies BEGIN
    UPDATE auth_epoch SET search_value = search_value + 1 WHERE id = 1;
END;
CREATE TRIGGER companies_search_epoch_text AFTER UPDATE OF search_text ON companies
    WHEN old.search_text IS NOT new.search_text BEGIN
    UPDATE auth_epoch SET search_value = search_value + 1 WHERE id = 1;
END;
