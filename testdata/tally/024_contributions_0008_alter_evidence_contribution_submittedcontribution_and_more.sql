-- Source: backend/contributions/migrations/0008_alter_evidence_contribution_submittedcontribution_and_more.py
-- AlterField evidence.contribution null=True: `migrate` drops the FK (found by introspection), drops NOT NULL, re-adds the FK under the same name.
ALTER TABLE "contributions_evidence" DROP CONSTRAINT "contributions_eviden_contribution_id_ca4faeb1_fk_contribut";
ALTER TABLE "contributions_evidence" ALTER COLUMN "contribution_id" DROP NOT NULL;
ALTER TABLE "contributions_evidence" ADD CONSTRAINT "contributions_eviden_contribution_id_ca4faeb1_fk_contribut" FOREIGN KEY ("contribution_id") REFERENCES "contributions_contribution" ("id") DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE "contributions_submittedcontribution" ("created_at" timestamp with time zone NOT NULL, "updated_at" timestamp with time zone NOT NULL, "id" uuid NOT NULL PRIMARY KEY, "contribution_date" timestamp with time zone NOT NULL, "notes" text NOT NULL, "state" varchar(20) NOT NULL, "staff_reply" text NOT NULL, "reviewed_at" timestamp with time zone NULL, "last_edited_at" timestamp with time zone NULL, "contribution_type_id" bigint NOT NULL, "converted_contribution_id" bigint NULL, "reviewed_by_id" bigint NULL, "user_id" bigint NOT NULL);
ALTER TABLE "contributions_evidence" ADD COLUMN "submitted_contribution_id" uuid NULL CONSTRAINT "contributions_eviden_submitted_contributi_764c8b04_fk_contribut" REFERENCES "contributions_submittedcontribution"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "contributions_eviden_submitted_contributi_764c8b04_fk_contribut" IMMEDIATE;
ALTER TABLE "contributions_submittedcontribution" ADD CONSTRAINT "contributions_submit_contribution_type_id_b5024191_fk_contribut" FOREIGN KEY ("contribution_type_id") REFERENCES "contributions_contributiontype" ("id") DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE "contributions_submittedcontribution" ADD CONSTRAINT "contributions_submit_converted_contributi_b8900b8c_fk_contribut" FOREIGN KEY ("converted_contribution_id") REFERENCES "contributions_contribution" ("id") DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE "contributions_submittedcontribution" ADD CONSTRAINT "contributions_submit_reviewed_by_id_a61a9c5e_fk_users_use" FOREIGN KEY ("reviewed_by_id") REFERENCES "users_user" ("id") DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE "contributions_submittedcontribution" ADD CONSTRAINT "contributions_submit_user_id_4ead8b74_fk_users_use" FOREIGN KEY ("user_id") REFERENCES "users_user" ("id") DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX "contributions_submittedcon_contribution_type_id_b5024191" ON "contributions_submittedcontribution" ("contribution_type_id");
CREATE INDEX "contributions_submittedcon_converted_contribution_id_b8900b8c" ON "contributions_submittedcontribution" ("converted_contribution_id");
CREATE INDEX "contributions_submittedcontribution_reviewed_by_id_a61a9c5e" ON "contributions_submittedcontribution" ("reviewed_by_id");
CREATE INDEX "contributions_submittedcontribution_user_id_4ead8b74" ON "contributions_submittedcontribution" ("user_id");
CREATE INDEX "contributions_evidence_submitted_contribution_id_764c8b04" ON "contributions_evidence" ("submitted_contribution_id");
