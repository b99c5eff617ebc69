-- Source: backend/api/migrations/0002_initial.py
ALTER TABLE "api_participant" ADD COLUMN "user_id" bigint NOT NULL UNIQUE CONSTRAINT "api_participant_user_id_368f7a3b_fk_users_user_id" REFERENCES "users_user"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "api_participant_user_id_368f7a3b_fk_users_user_id" IMMEDIATE;
ALTER TABLE "api_leaderboardentry" ADD COLUMN "participant_id" bigint NOT NULL CONSTRAINT "api_leaderboardentry_participant_id_768f524b_fk_api_parti" REFERENCES "api_participant"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "api_leaderboardentry_participant_id_768f524b_fk_api_parti" IMMEDIATE;
ALTER TABLE "api_badge" ADD COLUMN "participant_id" bigint NOT NULL CONSTRAINT "api_badge_participant_id_53b6df40_fk_api_participant_id" REFERENCES "api_participant"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "api_badge_participant_id_53b6df40_fk_api_participant_id" IMMEDIATE;
ALTER TABLE "api_leaderboardentry" ADD CONSTRAINT "api_leaderboardentry_leaderboard_id_participa_94b5324f_uniq" UNIQUE ("leaderboard_id", "participant_id");
CREATE INDEX "api_leaderboardentry_participant_id_768f524b" ON "api_leaderboardentry" ("participant_id");
CREATE INDEX "api_badge_participant_id_53b6df40" ON "api_badge" ("participant_id");
