-- Source: backend/validators/migrations/0002_alter_validator_node_version.py
ALTER TABLE "validators_validator" ALTER COLUMN "node_version" TYPE varchar(50);
