-- The walk of a common search (issue 6) is PostgreSQL's: on SQLite the
-- trigram FTS5 table yields a search's matches in id order by itself
-- (`companies::joined_index`), so this migration has nothing to do here.
SELECT 1;
