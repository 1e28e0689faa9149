-- The digit index (issue 6): the digits of each company's search text as
-- overlapping four-digit grams (kabinet_domain::text::digit_grams), written
-- by the application with the search text. A digits-only search word of four
-- digits or more is the phrase of its grams (`'4951' <-> '9512' <-> …`),
-- answered by a GIN index over the grams instead of pg_trgm's trigrams,
-- which are ten times as common. Rows written before this migration are
-- filled in by `migrate::run` right after it.
ALTER TABLE companies ADD COLUMN search_digits TEXT NOT NULL DEFAULT '';
CREATE INDEX companies_search_digits ON companies USING gin (to_tsvector('simple', search_digits));
