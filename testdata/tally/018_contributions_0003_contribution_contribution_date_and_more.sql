-- Source: backend/contributions/migrations/0003_contribution_contribution_date_and_more.py
ALTER TABLE "contributions_contribution" ADD COLUMN "contribution_date" timestamp with time zone NULL;
ALTER TABLE "contributions_contribution" ADD COLUMN "multiplier_at_creation" numeric(5, 2) NULL;
