-- The search epoch (issue 6): a counter that every change able to alter
-- which companies a search word matches moves on, in the same transaction,
-- by triggers: an insert, a delete, and an update that changes a company's
-- search text. The server remembers how many companies a search's words
-- match (its probe, `companies::word_matches`) with the epoch it read
-- before counting, and counts again once the epoch moves, so a change
-- applies to the next search on every node.
--
-- It is a column of the authorisation epoch's single row, not a row of its
-- own: a transaction that writes companies and moves both counters then
-- takes one row lock, not two in an order that another transaction might
-- take the other way round.
ALTER TABLE auth_epoch ADD COLUMN search_value BIGINT NOT NULL DEFAULT 0;
--
-- It moves once a transaction (a transaction-local setting remembers that it
-- did): readers compare committed epochs, so once is enough, and a bulk load
-- of thousands of statements in one transaction would otherwise update the
-- one row thousands of times, each update walking the chain of the row's
-- versions that the transaction made before (the demo's million companies
-- went from 3 minutes to over 14 before this).
CREATE FUNCTION bump_search_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('kabinet.search_epoch_moved', true) IS DISTINCT FROM 'yes' THEN
        UPDATE auth_epoch SET search_value = search_value + 1 WHERE id = 1;
        PERFORM set_config('kabinet.search_epoch_moved', 'yes', true);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER companies_search_epoch AFTER INSERT OR DELETE ON companies
    FOR EACH STATEMENT EXECUTE FUNCTION bump_search_epoch();
CREATE TRIGGER companies_search_epoch_text AFTER UPDATE OF search_text ON companies
    FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text)
    EXECUTE FUNCTION bump_search_epoch();
