-- Source: backend/leaderboard/migrations/0002_initial.py
-- OneToOneField: UNIQUE column (PostgreSQL names it leaderboard_leaderboardentry_user_id_key), no separate index.
ALTER TABLE "leaderboard_leaderboardentry" ADD COLUMN "user_id" bigint NOT NULL UNIQUE CONSTRAINT "leaderboard_leaderboardentry_user_id_2a062760_fk_users_user_id" REFERENCES "users_user"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "leaderboard_leaderboardentry_user_id_2a062760_fk_users_user_id" IMMEDIATE;
