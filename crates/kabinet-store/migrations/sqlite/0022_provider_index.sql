-- The provider company by a partial index (migration 22 on PostgreSQL,
-- where the look-up at every start scanned the table). SQLite walked the
-- rowid to the provider's first row already; the index keeps the two
-- schemas alike and the look-up independent of where the provider is.
CREATE INDEX companies_provider ON companies(id) WHERE is_provider = 1;
