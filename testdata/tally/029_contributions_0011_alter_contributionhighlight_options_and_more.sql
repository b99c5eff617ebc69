-- Source: backend/contributions/migrations/0011_alter_contributionhighlight_options_and_more.py
-- AlterModelOptions: no DDL. The merges 0015_merge_20250816_0226, 0013_merge_20250816_0331, 0013_merge_20250816_0051, 0016_merge_20250816_0427 that follow have no operations.
ALTER TABLE "contributions_contributionhighlight" DROP COLUMN "display_order" CASCADE;
ALTER TABLE "contributions_contributionhighlight" DROP COLUMN "featured_until" CASCADE;
ALTER TABLE "contributions_contributionhighlight" DROP COLUMN "is_active" CASCADE;
