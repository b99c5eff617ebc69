-- Source: django/contrib/auth/migrations/0002_alter_permission_name_max_length.py (Django 5.2)
-- Same internal type (CharField), so Django >= 4.2 emits no USING clause.
ALTER TABLE "auth_permission" ALTER COLUMN "name" TYPE varchar(255);
