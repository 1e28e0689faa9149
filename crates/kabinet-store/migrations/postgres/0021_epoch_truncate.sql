-- The search and company epochs (migrations 18 and 20) move on a TRUNCATE
-- of the companies too: row and statement triggers on INSERT, UPDATE and
-- DELETE do not fire for it, and a script that empties the table would
-- leave the servers answering cards and counts from memory.
CREATE TRIGGER companies_search_epoch_truncate AFTER TRUNCATE ON companies
    FOR EACH STATEMENT EXECUTE FUNCTION bump_search_epoch();
CREATE TRIGGER companies_company_epoch_truncate AFTER TRUNCATE ON companies
    FOR EACH STATEMENT EXECUTE FUNCTION bump_company_epoch();
