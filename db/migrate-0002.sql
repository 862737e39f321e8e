-- ktune tuning database, schema version 2: choices you can trust (issue 8).
--
-- Only adds (columns, a table, indexes) and redefines the `winners` view, so
-- compat_version stays 1: a version 1 reader still reads a version 2 file.  A version 2
-- reader reads a version 1 file as if the new columns were NULL and the table empty.

-- measurements, new columns:
--   batch   the interleaved measuring session that timed the row: rows of one
--           (machine, op, m, n, k) with the same batch were timed in the same rounds,
--           so their per-round times can be paired; NULL: unknown (rows of schema 1)
--   rounds  per-call seconds of each round, in round order: a BLOB of little-endian
--           float32, 4 bytes per round, at most 40 rounds; NULL: none
ALTER TABLE measurements ADD COLUMN batch INTEGER;
ALTER TABLE measurements ADD COLUMN rounds BLOB
    CHECK (rounds IS NULL OR (length(rounds) % 4 = 0 AND length(rounds) <= 160));

-- choices, new columns:
--   ci_lo, ci_hi  the 95% interval of `margin` (same definition as margin: for rank 1,
--                 runner-up / winner - 1; for rank r, own / winner - 1); NULL: none
--   decision      how the tuner decided rank 1 (tuner/kt_stats.h): 'resolved' (every
--                 cheaper candidate is shown slower than the winner beyond the tie window),
--                 'unresolved' (a cheaper variant within the window took the choice, or the
--                 comparison was not settled within the budget: the cheaper variant, marked
--                 so), 'merged' (a size whose own winner lost to a neighbour's run: the
--                 change was not significant), 'single' (one candidate), 'tie' (accepted,
--                 not written by this tuner), '' (other ranks, rows of schema 1)
ALTER TABLE choices ADD COLUMN ci_lo REAL;
ALTER TABLE choices ADD COLUMN ci_hi REAL;
ALTER TABLE choices ADD COLUMN decision TEXT NOT NULL DEFAULT ''
    CHECK (decision IN ('resolved', 'tie', 'unresolved', 'merged', 'single', ''));

-- How well dispatch did at the end of a run: per held-out shape (sizes the run did not
-- tune) and pass, the dispatched call against every fixed variant.  The best fixed
-- variant is chosen on one half of the samples and timed on the other half.
--   pass          1: first verification; 2: after re-measuring the neighbourhood
--   dispatched    the variant the dispatched call ran
--   dispatched_s  per-call seconds of the dispatched call (held-out half); NULL: unknown
--   best          the best fixed variant (chosen on the other half)
--   best_s        its per-call seconds on the held-out half; NULL: unknown
--   ratio         dispatched_s / best_s (1.0: dispatch was as fast as the best); NULL
--   fixed         JSON object {"variant": time / dispatched time, ...}, or ''
--   seed          the seed the held-out sizes came from (a 64-bit value, stored signed)
CREATE TABLE verifications (
    machine      INTEGER NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    run          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    op           TEXT NOT NULL,
    m            INTEGER NOT NULL DEFAULT 0 CHECK (m >= 0),
    n            INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0),
    k            INTEGER NOT NULL DEFAULT 0 CHECK (k >= 0),
    pass         INTEGER NOT NULL CHECK (pass IN (1, 2)),
    dispatched   TEXT NOT NULL,
    dispatched_s REAL,
    best         TEXT NOT NULL,
    best_s       REAL,
    ratio        REAL,
    fixed        TEXT NOT NULL DEFAULT '',
    seed         INTEGER NOT NULL,
    PRIMARY KEY (run, op, m, n, k, pass)
);
CREATE INDEX verifications_by_machine ON verifications (machine, run);

-- The winner at each tuned size, now with how it was decided and the interval of its
-- margin (NULL for rows of schema 1).
DROP VIEW winners;
CREATE VIEW winners AS
SELECT ma.fingerprint AS machine, c.op, c.m, c.n, c.k,
       c.variant, c.version,
       round(c.median_s * 1e6, 3) AS median_us,
       round(c.margin, 4) AS margin,
       round(c.ci_lo, 4) AS margin_lo,
       round(c.ci_hi, 4) AS margin_hi,
       c.decision,
       r2.variant AS runner_up
FROM choices AS c
JOIN machines AS ma ON ma.id = c.machine
LEFT JOIN choices AS r2
       ON r2.machine = c.machine AND r2.op = c.op
      AND r2.m = c.m AND r2.n = c.n AND r2.k = c.k AND r2.rank = 2
WHERE c.rank = 1;

-- Verification results with the machine's fingerprint, times in microseconds.
CREATE VIEW verifications_readable AS
SELECT ma.fingerprint AS machine, v.run, v.op, v.m, v.n, v.k, v.pass,
       v.dispatched, round(v.dispatched_s * 1e6, 3) AS dispatched_us,
       v.best, round(v.best_s * 1e6, 3) AS best_us,
       round(v.ratio, 4) AS ratio, v.fixed, v.seed
FROM verifications AS v
JOIN machines AS ma ON ma.id = v.machine;
