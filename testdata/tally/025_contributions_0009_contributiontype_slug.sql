-- Source: backend/contributions/migrations/0009_contributiontype_slug.py
-- (0010_populate_contribution_type_slugs after it is RunPython: slugified each type's name into slug.)
-- (0011_create_node_upgrade_contribution_type is RunPython: inserted the 'node-upgrade' type and a GlobalLeaderboardMultiplier for it.)
ALTER TABLE "contributions_contributiontype" ADD COLUMN "slug" varchar(100) NULL UNIQUE;
CREATE INDEX "contributions_contributiontype_slug_0a3949b4_like" ON "contributions_contributiontype" ("slug" varchar_pattern_ops);
