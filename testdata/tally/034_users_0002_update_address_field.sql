-- Source: backend/users/migrations/0002_update_address_field.py
-- TextField -> CharField(max_length=42, null=True): type change (USING cast, as the internal type changes) and DROP NOT NULL combined.
ALTER TABLE "users_user" ALTER COLUMN "address" TYPE varchar(42) USING "address"::varchar(42), ALTER COLUMN "address" DROP NOT NULL;
