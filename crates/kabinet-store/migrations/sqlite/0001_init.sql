-- Kabinet schema, SQLite dialect. Keep in step with ../postgres/0001_init.sql.
CREATE TABLE companies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER REFERENCES companies(id),
    path TEXT NOT NULL DEFAULT '',
    is_provider INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    name_sort TEXT NOT NULL,
    short_id TEXT,
    account_number TEXT,
    pbx_number TEXT,
    multichannel_number TEXT,
    phones TEXT NOT NULL DEFAULT '[]',
    region TEXT,
    macroregion TEXT,
    inns TEXT NOT NULL DEFAULT '[]',
    first_inn TEXT,
    kpp TEXT,
    ogrn TEXT,
    bik TEXT,
    bank TEXT,
    correspondent_account TEXT,
    settlement_account TEXT,
    legal_address TEXT,
    postal_address TEXT,
    email TEXT,
    phone TEXT,
    timezone TEXT,
    max_dialogs_per_operator INTEGER NOT NULL DEFAULT 3000,
    tariff TEXT,
    is_reseller INTEGER NOT NULL DEFAULT 0,
    credit_limit INTEGER,
    balance_threshold INTEGER,
    fz230_enabled INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    deletion_id TEXT,
    search_text TEXT NOT NULL,
    children_count INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX companies_account_number ON companies(account_number) WHERE account_number IS NOT NULL;
CREATE UNIQUE INDEX companies_short_id ON companies(short_id) WHERE short_id IS NOT NULL;
CREATE INDEX companies_parent ON companies(parent_id);
CREATE INDEX companies_path ON companies(path);
CREATE INDEX companies_name_sort ON companies(name_sort, id);
CREATE INDEX companies_region ON companies(region);
CREATE INDEX companies_macroregion ON companies(macroregion);
CREATE INDEX companies_deleted ON companies(deleted_at);
CREATE INDEX companies_deletion ON companies(deletion_id);

-- Substring search: an FTS5 trigram index over the folded search text.
CREATE VIRTUAL TABLE companies_fts USING fts5(search_text, tokenize = 'trigram', content = 'companies', content_rowid = 'id');
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
    INSERT INTO companies_fts(companies_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF search_text ON companies BEGIN
    INSERT INTO companies_fts(companies_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO companies_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;

-- Live children per company, kept by triggers so that a card and every
-- list row read it instead of counting (the provider has every client).
CREATE TRIGGER companies_children_insert AFTER INSERT ON companies
WHEN new.parent_id IS NOT NULL AND new.deleted_at IS NULL BEGIN
    UPDATE companies SET children_count = children_count + 1 WHERE id = new.parent_id;
END;
CREATE TRIGGER companies_children_delete AFTER DELETE ON companies
WHEN old.parent_id IS NOT NULL AND old.deleted_at IS NULL BEGIN
    UPDATE companies SET children_count = children_count - 1 WHERE id = old.parent_id;
END;
CREATE TRIGGER companies_children_update AFTER UPDATE OF parent_id, deleted_at ON companies
WHEN old.parent_id IS NOT new.parent_id OR (old.deleted_at IS NULL) <> (new.deleted_at IS NULL) BEGIN
    UPDATE companies SET children_count = children_count - 1 WHERE id = old.parent_id AND old.deleted_at IS NULL;
    UPDATE companies SET children_count = children_count + 1 WHERE id = new.parent_id AND new.deleted_at IS NULL;
END;

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    login TEXT NOT NULL,
    login_lower TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT,
    kind TEXT NOT NULL,
    full_access INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX users_company ON users(company_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor_user_id INTEGER,
    actor_login TEXT,
    on_behalf_of TEXT,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT,
    before_json TEXT,
    after_json TEXT,
    ip TEXT,
    details TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_entity ON audit_log(entity_type, entity_id);
CREATE INDEX audit_log_actor ON audit_log(actor_user_id);
CREATE INDEX audit_log_action ON audit_log(action);

CREATE TABLE outbox_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    topic TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX outbox_events_pending ON outbox_events(delivered_at, id);
