-- Indexes that serve the company list's common shapes straight from the
-- index (issue 6): live companies in name order, overall and within a
-- region, a macroregion or one parent. A deep page walks index entries only,
-- and a capped count stops after 1,001 of them. They replace the plain
-- region and macroregion indexes, whose every use is a prefix of these.
CREATE INDEX companies_live_name ON companies(name_sort, id) WHERE deleted_at IS NULL;
CREATE INDEX companies_live_region_name ON companies(region, name_sort, id) WHERE deleted_at IS NULL;
CREATE INDEX companies_live_macroregion_name ON companies(macroregion, name_sort, id) WHERE deleted_at IS NULL;
CREATE INDEX companies_live_parent_name ON companies(parent_id, name_sort, id) WHERE deleted_at IS NULL;
DROP INDEX companies_region;
DROP INDEX companies_macroregion;
-- Deleted companies only: the purge and the "deleted only" filter. Over
-- every live row it would only tempt the planner away from the list's order.
DROP INDEX companies_deleted;
CREATE INDEX companies_deleted ON companies(deleted_at) WHERE deleted_at IS NOT NULL;
