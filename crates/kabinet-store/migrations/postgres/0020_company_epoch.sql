-- The company epoch (issue 6): a counter that every insert, update and
-- delete of a company moves on, in the same transaction, by a statement
-- trigger. An API request by token reads it with the token (one statement),
-- and the server answers a company card from its memory when it read that
-- card at the same epoch, so any change to any company, made by this node,
-- another node or plain SQL, applies to the next request.
--
-- A column of the authorisation epoch's single row (one row lock for a
-- transaction that moves several counters), moved once a transaction like
-- the search epoch (migration 18): readers compare committed values.
ALTER TABLE auth_epoch ADD COLUMN company_value BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION bump_company_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('kabinet.company_epoch_moved', true) IS DISTINCT FROM 'yes' THEN
        UPDATE auth_epoch SET company_value = company_value + 1 WHERE id = 1;
        PERFORM set_config('kabinet.company_epoch_moved', 'yes', true);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER companies_company_epoch AFTER INSERT OR UPDATE OR DELETE ON companies
    FOR EACH STATEMENT EXECUTE FUNCTION bump_company_epoch();
