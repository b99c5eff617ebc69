-- Source: backend/leaderboard/migrations/0004_remove_multiplierperiod_valid_until_after_valid_from_and_more.py
ALTER TABLE "leaderboard_multiplierperiod" DROP CONSTRAINT "valid_until_after_valid_from";
ALTER TABLE "leaderboard_contributiontypemultiplier" DROP COLUMN "multiplier" CASCADE;
ALTER TABLE "leaderboard_multiplierperiod" DROP COLUMN "valid_until" CASCADE;
ALTER TABLE "leaderboard_multiplierperiod" ADD COLUMN "description" varchar(255) DEFAULT '' NOT NULL;
ALTER TABLE "leaderboard_multiplierperiod" ALTER COLUMN "description" DROP DEFAULT;
ALTER TABLE "leaderboard_multiplierperiod" ADD COLUMN "multiplier_value" numeric(5, 2) DEFAULT 1 NOT NULL;
ALTER TABLE "leaderboard_multiplierperiod" ALTER COLUMN "multiplier_value" DROP DEFAULT;
