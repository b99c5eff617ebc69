-- Source: django/contrib/contenttypes/migrations/0002_remove_content_type_name.py (Django 5.2)
-- AlterModelOptions: no DDL. AlterField name null=True, then RemoveField name (leaves a dropped attribute in django_content_type).
ALTER TABLE "django_content_type" ALTER COLUMN "name" DROP NOT NULL;
ALTER TABLE "django_content_type" DROP COLUMN "name" CASCADE;
