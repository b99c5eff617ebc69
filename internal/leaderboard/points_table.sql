-- The points Refresh sets the totals from: one row per user and contribution type, the sum of
-- frozen_global_points over that user's contributions of that type. The caller fills it for
-- the users whose entries it refreshes; it vanishes with the caller's transaction.
CREATE TEMP TABLE leaderboard_points (
    user_id bigint NOT NULL,
    type_id bigint NOT NULL,
    points  bigint NOT NULL
) ON COMMIT DROP;
