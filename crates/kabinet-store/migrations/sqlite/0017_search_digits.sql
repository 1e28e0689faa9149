-- The digit index (issue 6): the digits of each company's search text as
-- overlapping four-digit grams (kabinet_domain::text::digit_grams), written
-- by the application with the search text, in a word index of their own. A
-- digits-only search word of four digits or more is the phrase of its grams
-- there: a seven-digit phone fragment read five trigram lists of ~40,000
-- entries each at a million companies, and reads four gram lists a tenth as
-- long here. Rows written before this migration are filled in by
-- `migrate::run` right after it.
ALTER TABLE companies ADD COLUMN search_digits TEXT NOT NULL DEFAULT '';
CREATE VIRTUAL TABLE companies_digits USING fts5(search_digits, tokenize = 'unicode61', content = 'companies', content_rowid = 'id');
CREATE TRIGGER companies_digits_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_digits(rowid, search_digits) VALUES (new.id, new.search_digits);
END;
CREATE TRIGGER companies_digits_delete AFTER DELETE ON companies BEGIN
    INSERT INTO companies_digits(companies_digits, rowid, search_digits) VALUES ('delete', old.id, old.search_digits);
END;
CREATE TRIGGER companies_digits_update AFTER UPDATE OF search_digits ON companies BEGIN
    INSERT INTO companies_digits(companies_digits, rowid, search_digits) VALUES ('delete', old.id, old.search_digits);
    INSERT INTO companies_digits(rowid, search_digits) VALUES (new.id, new.search_digits);
END;
