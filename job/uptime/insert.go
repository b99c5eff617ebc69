package uptime

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// insertChunkRows is about how many rows one INSERT statement writes. Each new row queues two
// foreign-key checks in the server process until its statement ends, about 50 bytes a row; in
// chunks of this size that queue stays near 2.5 MB however large the backfill, and the extra
// statements cost about a millisecond each.
const insertChunkRows = 50_000

// progressEvery is how often a long insert logs how far it has got.
const progressEvery = 10 * time.Second

// insert writes the planned contributions in chunks inside the run's transaction, so the run
// stays all-or-nothing while the server's memory stays bounded. The foreign keys are Django's
// DEFERRABLE INITIALLY DEFERRED ones: left deferred, every row's checks would queue until the
// commit, 180 MB of server memory at 3.6M rows. Made immediate, each chunk's checks run, and
// their queue is freed, as its statement ends; the checks are the same ones.
func (g Generator) insert(ctx context.Context, tx *sqlx.Tx, opts Options, typeID, planned int64) error {
	if _, err := tx.ExecContext(ctx, "SET CONSTRAINTS ALL IMMEDIATE"); err != nil {
		return fmt.Errorf("make the constraints immediate: %w", err)
	}
	var pages int64
	if err := tx.GetContext(ctx, &pages,
		`SELECT pg_relation_size('uptime_missing') / current_setting('block_size')::bigint`); err != nil {
		return fmt.Errorf("size the insert: %w", err)
	}
	step := chunkPages(pages, planned)
	var written int64
	lastLog := time.Now()
	for first := int64(0); first < pages; first += step {
		next := first + step
		if next >= pages {
			next = math.MaxUint32 // the last chunk takes whatever follows, should the size have been stale
		}
		res, err := tx.ExecContext(ctx, sqlInsert, opts.Now, typeID, opts.Points, tid(first), tid(next))
		if err != nil {
			return fmt.Errorf("insert contributions (%d of %d written): %w", written, planned, err)
		}
		n, _ := res.RowsAffected()
		written += n
		if time.Since(lastLog) >= progressEvery {
			g.Log.InfoContext(ctx, "inserting contributions", "written", written, "planned", planned)
			lastLog = time.Now()
		}
	}
	if written != planned {
		return fmt.Errorf("insert contributions: wrote %d rows, planned %d", written, planned)
	}
	return nil
}

// chunkPages is how many pages of uptime_missing hold about insertChunkRows planned rows.
func chunkPages(pages, planned int64) int64 {
	if planned <= 0 {
		return max(pages, 1)
	}
	return max(insertChunkRows*pages/planned, 1)
}

// tid is the address of the first row slot on page: ctid >= tid(p) AND ctid < tid(q) selects
// exactly the rows on pages p to q-1.
func tid(page int64) string { return fmt.Sprintf("(%d,0)", page) }
