-- Source: backend/users/migrations/0002_user_visible.py
ALTER TABLE "users_user" ADD COLUMN "visible" boolean DEFAULT true NOT NULL;
ALTER TABLE "users_user" ALTER COLUMN "visible" DROP DEFAULT;
