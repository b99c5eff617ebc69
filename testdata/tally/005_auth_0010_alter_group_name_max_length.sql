-- Source: django/contrib/auth/migrations/0010_alter_group_name_max_length.py (Django 5.2)
-- auth 0003-0009 and 0012 alter auth.User only (swapped out: no DDL); 0011 is RunPython (proxy permissions).
ALTER TABLE "auth_group" ALTER COLUMN "name" TYPE varchar(150);
