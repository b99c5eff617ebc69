package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// privileges is what the run does to each table, beyond reading it: it inserts contributions and
// deletes a day's second Uptime contribution, inserts and updates entries, and locks both in
// EXCLUSIVE mode, which PostgreSQL allows only with UPDATE, DELETE or TRUNCATE (so the
// contributions need UPDATE although the job never updates one). Every table in columns is read.
var privileges = map[string][]string{
	"contributions_contribution":   {"INSERT", "UPDATE", "DELETE"},
	"leaderboard_leaderboardentry": {"INSERT", "UPDATE"},
}

// missingPrivileges lists, as "PRIVILEGE on public.table" phrases, what the run's role may not do
// that a run needs, in a stable order. A dry run needs the same as a real run: it is the
// rehearsal of one.
func missingPrivileges(ctx context.Context, tx *sqlx.Tx) ([]string, error) {
	var tables, privs []string
	for _, table := range slices.Sorted(maps.Keys(columns)) {
		for _, p := range append([]string{"SELECT"}, privileges[table]...) {
			tables, privs = append(tables, table), append(privs, p)
		}
	}
	var missing []string
	err := tx.SelectContext(ctx, &missing, `
		SELECT p.privilege || ' on public.' || p.table_name
		FROM unnest($1::text[], $2::text[]) AS p (table_name, privilege)
		WHERE NOT has_table_privilege('public.' || p.table_name, p.privilege)
		UNION ALL
		-- a serial column's sequence needs USAGE; an identity column's does not. A column a
		-- migration dropped stays in pg_attribute under a name no function accepts.
		SELECT 'USAGE on ' || s.seq
		FROM unnest($3::text[]) AS t (table_name)
		JOIN pg_attribute AS a ON a.attrelid = to_regclass('public.' || t.table_name)
		                      AND a.attnum > 0 AND NOT a.attisdropped
		CROSS JOIN LATERAL (SELECT pg_get_serial_sequence('public.' || t.table_name, a.attname) AS seq) AS s
		WHERE a.attidentity = '' AND s.seq IS NOT NULL AND NOT has_sequence_privilege(s.seq, 'USAGE')
		UNION ALL
		SELECT 'TEMPORARY on database ' || current_database()
		WHERE NOT has_database_privilege(current_database(), 'TEMPORARY')`,
		pq.Array(tables), pq.Array(privs), pq.Array(slices.Sorted(maps.Keys(inserted))))
	if err != nil {
		return nil, fmt.Errorf("check the role's privileges: %w", err)
	}
	return missing, nil
}

// checkPrivileges refuses a role that could not complete a run, before the run does any work.
func checkPrivileges(ctx context.Context, tx *sqlx.Tx) error {
	missing, err := missingPrivileges(ctx, tx)
	if err != nil || len(missing) == 0 {
		return err
	}
	var role string
	if err := tx.GetContext(ctx, &role, "SELECT current_user"); err != nil {
		return fmt.Errorf("check the role's privileges: %w", err)
	}
	list := missing[len(missing)-1]
	if n := len(missing); n > 1 {
		list = strings.Join(missing[:n-1], ", ") + " and " + list
	}
	return &SchemaError{fmt.Sprintf("the database role %s lacks %s: every run needs them, a dry run too; grant them and rerun",
		role, list)}
}
