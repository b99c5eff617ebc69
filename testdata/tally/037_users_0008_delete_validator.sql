-- Source: backend/users/migrations/0008_delete_validator.py
DROP TABLE "users_validator" CASCADE;
