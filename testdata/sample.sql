-- A small, realistic Tally for the demo: two categories, a few users with gaps in their uptime,
-- an invisible user, contributions of other types, and a multiplier history. Dates are relative
-- to today (UTC), so the demo always has work to do.
SET TIME ZONE 'UTC';

INSERT INTO contributions_category (name, slug, description, profile_model, created_at, updated_at) VALUES
    ('Validators', 'validators', 'Running the network', '', now(), now()),
    ('Builders', 'builders', 'Building on the network', '', now(), now());

INSERT INTO contributions_contributiontype
       (name, slug, description, category_id, min_points, max_points, is_default, created_at, updated_at)
SELECT t.name, lower(replace(t.name, ' ', '-')), '', c.id, t.min_points, t.max_points, false, now(), now()
FROM (VALUES ('Uptime', 'validators', 1, 5),
             ('Node Upgrade', 'validators', 5, 50),
             ('Pull Request', 'builders', 10, 100)) AS t (name, slug, min_points, max_points)
JOIN contributions_category AS c ON c.slug = t.slug;

INSERT INTO leaderboard_globalleaderboardmultiplier
       (created_at, updated_at, contribution_type_id, multiplier_value, valid_from, description, notes)
SELECT now(), now(), t.id, m.value, (current_date - m.days_ago)::timestamp AT TIME ZONE 'UTC', m.description, ''
FROM (VALUES ('Uptime', 1.00, 120, 'Launch'),
             ('Uptime', 1.50, 30, 'Testnet phase 2'),
             ('Uptime', 2.50, 6, 'Incentivised week'),
             ('Node Upgrade', 2.00, 120, 'Launch'),
             ('Pull Request', 1.00, 120, 'Launch')) AS m (type_name, value, days_ago, description)
JOIN contributions_contributiontype AS t ON t.name = m.type_name;

INSERT INTO users_user (password, is_superuser, username, first_name, last_name, email, name,
                        is_staff, is_active, date_joined, visible, created_at, updated_at)
SELECT '!', false, u.email, '', '', u.email, u.name, false, true, now(), u.visible, now(), now()
FROM (VALUES ('ada@example.com', 'ada Lovelace', true),
             ('bob@example.com', 'Bob Builder', true),
             ('carol@example.com', 'carol Shaw', true),
             ('dave@example.com', 'Dave Null', false),
             ('erin@example.com', 'Erin Newcomer', true)) AS u (email, name, visible);

-- Uptime so far: (user, first day ago, last day ago, every nth day present). Each row is what the
-- app's daily uptime would have written that day: created a few minutes past its midnight (UTC),
-- with the Uptime multiplier in force at that midnight and points × multiplier rounded half to
-- even (1 × 1.50 = 1.5 → 2, 1 × 2.50 = 2.5 → 2), as the job computes them too.
INSERT INTO contributions_contribution
       (created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
        multiplier_at_creation, contribution_date, notes)
SELECT day + interval '5 minutes', day + interval '5 minutes', u.id, t.id, 1,
       CASE WHEN m.value - floor(m.value) = 0.5 AND floor(m.value)::bigint % 2 = 0
            THEN floor(m.value) ELSE round(m.value) END,
       m.value, day, 'Auto-generated daily uptime for ' || to_char(day, 'YYYY-MM-DD')
FROM (VALUES ('ada@example.com', 40, 3, 1),     -- every day, then stopped 3 days ago
             ('bob@example.com', 25, 1, 2),     -- every other day
             ('carol@example.com', 10, 10, 1),  -- one day, ten days ago
             ('dave@example.com', 15, 5, 3)) AS s (email, first_ago, last_ago, step)
JOIN users_user AS u ON u.email = s.email
JOIN contributions_contributiontype AS t ON t.name = 'Uptime'
CROSS JOIN LATERAL generate_series(s.last_ago, s.first_ago, 1) AS d
CROSS JOIN LATERAL (SELECT (current_date - d)::timestamp AT TIME ZONE 'UTC' AS day) AS dd
CROSS JOIN LATERAL (SELECT g.multiplier_value AS value
                    FROM leaderboard_globalleaderboardmultiplier AS g
                    WHERE g.contribution_type_id = t.id AND g.valid_from <= dd.day
                    ORDER BY g.valid_from DESC LIMIT 1) AS m
WHERE (s.first_ago - d) % s.step = 0;

-- An undated Uptime row (Django allows it) and contributions of other types.
INSERT INTO contributions_contribution
       (created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
        multiplier_at_creation, contribution_date, notes)
SELECT now(), now(), u.id, t.id, c.points, c.points * c.multiplier, c.multiplier,
       CASE WHEN c.days_ago IS NULL THEN NULL ELSE (current_date - c.days_ago)::timestamp AT TIME ZONE 'UTC' END, c.notes
FROM (VALUES ('erin@example.com', 'Uptime', 1, 1.00, NULL, 'Imported without a date'),
             ('ada@example.com', 'Node Upgrade', 20, 2.00, 12, 'v0.9 upgrade'),
             ('bob@example.com', 'Pull Request', 40, 1.00, 8, 'Fix the faucet'),
             ('carol@example.com', 'Pull Request', 25, 1.00, 2, 'Docs')) AS c (email, type_name, points, multiplier, days_ago, notes)
JOIN users_user AS u ON u.email = c.email
JOIN contributions_contributiontype AS t ON t.name = c.type_name;
