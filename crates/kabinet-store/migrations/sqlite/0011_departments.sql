-- Departments and rights (issue 5, B2-B4, B6). A department belongs to a
-- company; its rights are keys of the catalog: a section (`companies`) or a
-- function (`companies.edit`). A person's extra rights are function keys.
CREATE TABLE departments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    name_ru TEXT NOT NULL,
    name_en TEXT NOT NULL,
    -- The working schedule, JSON: {"timezone": "...", "days": {"mon": ["09:00", "18:00"], ...}}.
    schedule TEXT NOT NULL DEFAULT '{}',
    task_language TEXT NOT NULL DEFAULT 'ru',
    -- Support-centre settings, JSON, used by the support centre later (B3).
    support TEXT NOT NULL DEFAULT '{}',
    sort_order INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX departments_company ON departments(company_id, sort_order);
CREATE TABLE department_rights (
    department_id INTEGER NOT NULL REFERENCES departments(id),
    right_key TEXT NOT NULL,
    PRIMARY KEY (department_id, right_key)
);
CREATE TABLE department_members (
    department_id INTEGER NOT NULL REFERENCES departments(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (department_id, user_id)
);
CREATE INDEX department_members_user ON department_members(user_id);
CREATE TABLE user_extra_rights (
    user_id INTEGER NOT NULL REFERENCES users(id),
    right_key TEXT NOT NULL,
    PRIMARY KEY (user_id, right_key)
);
-- B2: the provider has "Sales" and "Technical support" from the start.
INSERT INTO departments (company_id, name_ru, name_en, sort_order, created_at, updated_at)
    SELECT id, 'Продажи', 'Sales', 1, 0, 0 FROM companies WHERE is_provider = 1;
INSERT INTO departments (company_id, name_ru, name_en, sort_order, created_at, updated_at)
    SELECT id, 'Техническая поддержка', 'Technical support', 2, 0, 0 FROM companies WHERE is_provider = 1;
