-- Source: backend/leaderboard/migrations/0008_leaderboardentry_category_and_more.py
ALTER TABLE "leaderboard_leaderboardentry" ADD COLUMN "category_id" bigint NULL CONSTRAINT "leaderboard_leaderbo_category_id_581006ed_fk_contribut" REFERENCES "contributions_category"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "leaderboard_leaderbo_category_id_581006ed_fk_contribut" IMMEDIATE;
-- AlterField user OneToOneField -> ForeignKey, as `migrate` runs it: drop FK, drop the unique constraint, add the FK index, re-add the FK.
ALTER TABLE "leaderboard_leaderboardentry" DROP CONSTRAINT "leaderboard_leaderboardentry_user_id_2a062760_fk_users_user_id";
ALTER TABLE "leaderboard_leaderboardentry" DROP CONSTRAINT "leaderboard_leaderboardentry_user_id_key";
CREATE INDEX "leaderboard_leaderboardentry_user_id_2a062760" ON "leaderboard_leaderboardentry" ("user_id");
ALTER TABLE "leaderboard_leaderboardentry" ADD CONSTRAINT "leaderboard_leaderboardentry_user_id_2a062760_fk_users_user_id" FOREIGN KEY ("user_id") REFERENCES "users_user" ("id") DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE "leaderboard_leaderboardentry" ADD CONSTRAINT "leaderboard_leaderboardentry_user_id_category_id_a8be3a39_uniq" UNIQUE ("user_id", "category_id");
DROP TABLE "leaderboard_categoryleaderboard" CASCADE;
CREATE INDEX "leaderboard_leaderboardentry_category_id_581006ed" ON "leaderboard_leaderboardentry" ("category_id");
