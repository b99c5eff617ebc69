-- Scratch tables for one run; they vanish with its transaction. Days are numbered from
-- 0001-01-01 so that day / 128 and day % 128 split them into 128-day blocks and bit positions.
CREATE TEMP TABLE uptime_blocks (
    user_id   bigint NOT NULL,
    block     integer NOT NULL,
    days      bit(128) NOT NULL, -- bit n from the left set: the user has Uptime on day block * 128 + n
    rows      bigint NOT NULL    -- Uptime rows in the block: more than its bits, and a day is doubled
) ON COMMIT DROP;

CREATE TEMP TABLE uptime_sums (
    user_id bigint NOT NULL,
    type_id bigint NOT NULL,
    points  bigint NOT NULL     -- sum of frozen_global_points before this run
) ON COMMIT DROP;

CREATE TEMP TABLE uptime_starts (
    user_id   bigint PRIMARY KEY,
    first_day date NOT NULL
) ON COMMIT DROP;

-- The window's days, each with what a new contribution on it gets: a few thousand rows at most,
-- so everything that depends only on the day is computed once per day, not once per row.
CREATE TEMP TABLE uptime_days (
    day               date PRIMARY KEY,
    multiplier        numeric,  -- NULL: no multiplier in force on that day
    frozen            integer,
    contribution_date timestamptz NOT NULL,
    notes             text NOT NULL
) ON COMMIT DROP;

CREATE TEMP TABLE uptime_missing (
    user_id bigint NOT NULL,
    day     date NOT NULL
) ON COMMIT DROP;

-- Every leaderboard entry's total as it was before the scan: an entry whose total has moved by the
-- locked phase belongs to a user the app changed meanwhile (catch_up.sql).
CREATE TEMP TABLE uptime_entries (
    user_id bigint NOT NULL,
    board   bigint NOT NULL,    -- category id; 0 for the global board
    total   bigint NOT NULL
) ON COMMIT DROP;

-- User-days with more than one Uptime contribution, found by the scan or by the locked phase.
CREATE TEMP TABLE uptime_doubled (
    user_id bigint NOT NULL,
    day     date NOT NULL,
    PRIMARY KEY (user_id, day)
) ON COMMIT DROP;

-- Users whose contributions changed after the scan: the locked phase reads them afresh.
CREATE TEMP TABLE uptime_changed (
    user_id bigint PRIMARY KEY
) ON COMMIT DROP;

-- Their points per contribution type as the locked phase found them, this run's rows included.
CREATE TEMP TABLE uptime_recount (
    user_id bigint NOT NULL,
    type_id bigint NOT NULL,
    points  bigint NOT NULL
) ON COMMIT DROP;

-- Each user's points from this run's new days, summed before the locked phase, which reads it.
CREATE TEMP TABLE uptime_new_points (
    user_id bigint PRIMARY KEY,
    points  bigint NOT NULL
) ON COMMIT DROP;
