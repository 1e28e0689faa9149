-- The provider company by a partial index (issue 6). `kabinet serve` looks
-- the provider up on every start (`companies::provider`: is_provider = 1,
-- the lowest id); with no index PostgreSQL planned a parallel sequential
-- scan of the whole table for its one row: 382 ms of a 496 ms start-up at
-- a million companies.
CREATE INDEX companies_provider ON companies(id) WHERE is_provider = 1;
