-- Scratch tables for one run; they vanish with its transaction.
CREATE TEMP TABLE uptime_starts (
    user_id   bigint PRIMARY KEY,
    first_day date NOT NULL
) ON COMMIT DROP;

CREATE TEMP TABLE uptime_missing (
    user_id    bigint NOT NULL,
    day        date NOT NULL,
    multiplier numeric,  -- NULL: no multiplier in force on that day
    frozen     integer
) ON COMMIT DROP;
