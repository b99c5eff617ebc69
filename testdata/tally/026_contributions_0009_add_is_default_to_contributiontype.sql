-- Source: backend/contributions/migrations/0009_add_is_default_to_contributiontype.py
-- (0012_merge_20250815_1512 after it is a merge migration: no operations.)
ALTER TABLE "contributions_contributiontype" ADD COLUMN "is_default" boolean DEFAULT false NOT NULL;
ALTER TABLE "contributions_contributiontype" ALTER COLUMN "is_default" DROP DEFAULT;
