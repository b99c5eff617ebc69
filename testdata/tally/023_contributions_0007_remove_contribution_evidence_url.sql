-- Source: backend/contributions/migrations/0007_remove_contribution_evidence_url.py
-- (0006_migrate_evidence_url before it is RunPython: copied each non-empty evidence_url into a contributions_evidence row.)
ALTER TABLE "contributions_contribution" DROP COLUMN "evidence_url" CASCADE;
