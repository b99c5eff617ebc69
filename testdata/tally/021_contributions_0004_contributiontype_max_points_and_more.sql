-- Source: backend/contributions/migrations/0004_contributiontype_max_points_and_more.py
ALTER TABLE "contributions_contributiontype" ADD COLUMN "max_points" integer DEFAULT 100 NOT NULL CHECK ("max_points" >= 0);
ALTER TABLE "contributions_contributiontype" ALTER COLUMN "max_points" DROP DEFAULT;
ALTER TABLE "contributions_contributiontype" ADD COLUMN "min_points" integer DEFAULT 0 NOT NULL CHECK ("min_points" >= 0);
ALTER TABLE "contributions_contributiontype" ALTER COLUMN "min_points" DROP DEFAULT;
