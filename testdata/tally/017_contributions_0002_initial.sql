-- Source: backend/contributions/migrations/0002_initial.py
ALTER TABLE "contributions_contribution" ADD COLUMN "user_id" bigint NOT NULL CONSTRAINT "contributions_contribution_user_id_ada3bb65_fk_users_user_id" REFERENCES "users_user"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "contributions_contribution_user_id_ada3bb65_fk_users_user_id" IMMEDIATE;
ALTER TABLE "contributions_contribution" ADD COLUMN "contribution_type_id" bigint NOT NULL CONSTRAINT "contributions_contri_contribution_type_id_e2740166_fk_contribut" REFERENCES "contributions_contributiontype"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "contributions_contri_contribution_type_id_e2740166_fk_contribut" IMMEDIATE;
CREATE INDEX "contributions_contribution_user_id_ada3bb65" ON "contributions_contribution" ("user_id");
CREATE INDEX "contributions_contribution_contribution_type_id_e2740166" ON "contributions_contribution" ("contribution_type_id");
