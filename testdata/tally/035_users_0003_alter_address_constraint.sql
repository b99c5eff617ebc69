-- Source: backend/users/migrations/0003_alter_address_constraint.py
-- Its first operation is RunPython (fix_duplicate_addresses: rewrote NULL/empty/duplicate addresses to unique placeholders); then AddConstraint:
-- (users 0003_merge_..., 0004_merge_20250523_1033 are merges; 0005_alter_user_options is AlterModelOptions: no DDL.)
CREATE UNIQUE INDEX "unique_address_when_not_null" ON "users_user" ("address") WHERE "address" IS NOT NULL;
