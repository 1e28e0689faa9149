-- The authorisation epoch (issue 6): a counter that every change able to
-- alter a signed-in person's identity, scope or rights moves on, in the same
-- transaction, by triggers, so nothing that writes these tables can forget
-- it. The server caches each person's rights with the epoch it read them
-- at and reads them again once it moves: a change applies to the next
-- request on every node, without reading rights on every request.
CREATE TABLE auth_epoch (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);
CREATE FUNCTION bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_auth_epoch AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER companies_auth_epoch AFTER UPDATE OF path, parent_id, deleted_at, name, is_reseller, is_group_company OR DELETE ON companies
    FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER department_rights_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON department_rights
    FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER department_members_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON department_members
    FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER user_extra_rights_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON user_extra_rights
    FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER group_links_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON group_links
    FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
