-- The authorisation epoch (issue 6): a counter that every change able to
-- alter a signed-in person's identity, scope or rights moves on, in the same
-- transaction, by triggers, so nothing that writes these tables can forget
-- it. The server caches each person's rights with the epoch it read them
-- at and reads them again once it moves: a change applies to the next
-- request on every node, without reading rights on every request.
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);
CREATE TRIGGER users_auth_epoch_update AFTER UPDATE ON users BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER users_auth_epoch_delete AFTER DELETE ON users BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER companies_auth_epoch_update AFTER UPDATE OF path, parent_id, deleted_at, name, is_reseller, is_group_company ON companies BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER companies_auth_epoch_delete AFTER DELETE ON companies BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER department_rights_auth_epoch_insert AFTER INSERT ON department_rights BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER department_rights_auth_epoch_update AFTER UPDATE ON department_rights BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER department_rights_auth_epoch_delete AFTER DELETE ON department_rights BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER department_members_auth_epoch_insert AFTER INSERT ON department_members BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER department_members_auth_epoch_update AFTER UPDATE ON department_members BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER department_members_auth_epoch_delete AFTER DELETE ON department_members BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER user_extra_rights_auth_epoch_insert AFTER INSERT ON user_extra_rights BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER user_extra_rights_auth_epoch_update AFTER UPDATE ON user_extra_rights BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER user_extra_rights_auth_epoch_delete AFTER DELETE ON user_extra_rights BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER group_links_auth_epoch_insert AFTER INSERT ON group_links BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER group_links_auth_epoch_update AFTER UPDATE ON group_links BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER group_links_auth_epoch_delete AFTER DELETE ON group_links BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
