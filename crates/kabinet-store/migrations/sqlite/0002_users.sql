-- The full user card (issue 4). Keep in step with ../postgres/0002_users.sql.
ALTER TABLE users ADD COLUMN patronymic TEXT;
ALTER TABLE users ADD COLUMN full_name_ru TEXT;
ALTER TABLE users ADD COLUMN full_name_en TEXT;
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN mobile_phone TEXT;
ALTER TABLE users ADD COLUMN position TEXT;
ALTER TABLE users ADD COLUMN may_open_admin_cabinet INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN chat_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN name_sort TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN deletion_id TEXT;
UPDATE users SET name_sort = lower(last_name || ' ' || first_name),
                 search_text = lower(last_name || ' ' || first_name || ' | ' || login);
CREATE INDEX users_name_sort ON users(name_sort, id);
CREATE INDEX users_deleted ON users(deleted_at);

-- Substring search over people, like companies: FTS5 trigram.
CREATE VIRTUAL TABLE users_fts USING fts5(search_text, tokenize = 'trigram', content = 'users', content_rowid = 'id');
INSERT INTO users_fts(users_fts) VALUES ('rebuild');
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts(users_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF search_text ON users BEGIN
    INSERT INTO users_fts(users_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO users_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
