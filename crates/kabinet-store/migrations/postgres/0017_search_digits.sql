-- The digit index (issue 6): the digits of each company's search text as
-- overlapping four-digit grams (kabinet_domain::text::digit_grams), written
-- by the application with the search text. A digits-only search word of four
-- digits or more is the phrase of its grams (`'4951' <-> '9512' <-> …`),
-- answered by a GIN index over the grams instead of pg_trgm's trigrams,
-- which are ten times as common. The grams are kept as a stored tsvector:
-- an index over the expression `to_tsvector('simple', search_digits)` made
-- every recheck and every filtered index walk parse the text again (a page
-- of a common four-digit word in id order: 129 ms, against 7 ms stored).
-- Rows written before this migration are filled in by `migrate::run` right
-- after it.
ALTER TABLE companies ADD COLUMN search_digits TEXT NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN search_digits_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', search_digits)) STORED;
CREATE INDEX companies_search_digits ON companies USING gin (search_digits_tsv);
