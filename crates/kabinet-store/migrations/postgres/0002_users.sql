-- The full user card (issue 4). Keep in step with ../sqlite/0002_users.sql.
ALTER TABLE users ADD COLUMN patronymic TEXT;
ALTER TABLE users ADD COLUMN full_name_ru TEXT;
ALTER TABLE users ADD COLUMN full_name_en TEXT;
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN mobile_phone TEXT;
ALTER TABLE users ADD COLUMN position TEXT;
ALTER TABLE users ADD COLUMN may_open_admin_cabinet BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN chat_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN name_sort TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN deletion_id TEXT;
UPDATE users SET name_sort = lower(last_name || ' ' || first_name),
                 search_text = lower(last_name || ' ' || first_name || ' | ' || login);
CREATE INDEX users_name_sort ON users(name_sort, id);
CREATE INDEX users_deleted ON users(deleted_at);
CREATE INDEX users_search_trgm ON users USING gin (search_text gin_trgm_ops);
