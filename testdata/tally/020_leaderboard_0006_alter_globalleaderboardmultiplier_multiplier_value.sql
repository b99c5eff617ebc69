-- Source: backend/leaderboard/migrations/0006_alter_globalleaderboardmultiplier_multiplier_value.py
ALTER TABLE "leaderboard_globalleaderboardmultiplier" ALTER COLUMN "multiplier_value" TYPE numeric(10, 2);
