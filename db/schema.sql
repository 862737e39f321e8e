-- ktune tuning database, schema version 1 (the initial schema).
--
-- db/open.c applies this file, then every later step (db/migrate-NNNN.sql) in order, each
-- step in one transaction that also sets PRAGMA user_version to the step's number; the first
-- step also sets PRAGMA application_id = 0x6b74756e ('ktun').  A released step is never
-- edited: a change is a new step.  Needs SQLite >= 3.25 (upsert, window functions, JSON).
-- Schema 2 (db/migrate-0002.sql) adds measurements.batch and .rounds, choices.ci_lo, .ci_hi
-- and .decision, the table verifications, and redefines the winners view: the columns are
-- documented there.
--
-- Conventions:
--   times       TEXT, UTC, ISO 8601: '2025-01-31T12:00:00Z';
--   durations   REAL seconds in columns named *_s (the views show microseconds, *_us);
--   dims        m, n, k: 0 when the op does not use it; vector ops keep their length in n,
--               {rows, cols} ops use m and n;
--   variants    identified by (op, name, version); the version is bumped whenever the
--               variant's code changes, and a measurement of another version than the
--               library's own never drives dispatch.

-- Key/value facts about the file itself.
--   compat_version: the oldest schema version whose readers can still read this file.  A
--   step that only adds (tables, columns, views, indexes) leaves it; a step that changes
--   what existing readers query raises it to its own number.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('compat_version', '1');

-- One row per machine fingerprint; one file can serve a fleet.
CREATE TABLE machines (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    details     TEXT NOT NULL DEFAULT '{}',   -- JSON object: cpu, gpu, ... (checked on insert)
    first_seen  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    last_seen   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- Every variant (and version of its code) ever measured.
CREATE TABLE variants (
    op      TEXT NOT NULL,                  -- 'axpy_f32'
    name    TEXT NOT NULL,                  -- 'avx512', 'threads:t=2', 'cuda:block=256'
    version INTEGER NOT NULL CHECK (version >= 0),
    backend TEXT NOT NULL,                  -- 'scalar', 'avx2', 'threads', 'cuda', ...
    params  TEXT NOT NULL DEFAULT '',       -- backend parameters: 't=2', 'block=256', ...
    PRIMARY KEY (op, name, version)
);

-- Tuning runs.  A run left 'running' by a process that is gone is marked 'interrupted'
-- the next time the database is opened for writing on the same host.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    machine       INTEGER NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    started       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    ended         TEXT,
    options       TEXT NOT NULL DEFAULT '',  -- how the tuner was invoked
    status        TEXT NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'complete', 'interrupted', 'failed')),
    ktune_version TEXT NOT NULL,
    pid           INTEGER NOT NULL,          -- of the tuner process, on host
    host          TEXT NOT NULL
);
CREATE INDEX runs_by_status ON runs (status);
CREATE INDEX runs_by_machine ON runs (machine);

-- The current measurement of each (machine, op, size, variant, version); re-measuring
-- replaces the row.
--   median_s  median time of one call, end to end (host data: transfers included);
--             NULL when the variant failed validation
--   spread    relative interquartile range of the samples: (p75 - p25) / median
--   min_s     fastest sample
--   kernel_s  GPU kernel alone (CUDA events); NULL for CPU variants
--   valid     1 when the output matched the reference before timing, else 0 (see error)
--   gflops, gbs  throughput from the op's cost model at median_s
CREATE TABLE measurements (
    id          INTEGER PRIMARY KEY,
    machine     INTEGER NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    op          TEXT NOT NULL,
    m           INTEGER NOT NULL DEFAULT 0 CHECK (m >= 0),
    n           INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0),
    k           INTEGER NOT NULL DEFAULT 0 CHECK (k >= 0),
    variant     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    run         INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    samples     INTEGER NOT NULL CHECK (samples >= 0),
    median_s    REAL,
    spread      REAL,
    min_s       REAL,
    kernel_s    REAL,
    valid       INTEGER NOT NULL CHECK (valid IN (0, 1)),
    error       TEXT,
    gflops      REAL,
    gbs         REAL,
    measured_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (machine, op, m, n, k, variant, version),
    FOREIGN KEY (op, variant, version) REFERENCES variants (op, name, version),
    CHECK (valid = 0 OR median_s IS NOT NULL)
);
CREATE INDEX measurements_by_variant ON measurements (op, variant, version);
CREATE INDEX measurements_by_run ON measurements (run);

-- What dispatch calls: per (machine, op, tuned size) the variants in order, rank 1 the
-- winner.  Recomputed from measurements, replaced per (machine, op) at once.
--   margin  rank 1: the runner-up's time over the winner's - 1, as the median of their
--           paired per-round ratios (of their medians when not timed in the same rounds;
--           NULL when alone); rank r > 1: own median / winner median - 1.  Negative when
--           the tuner preferred a cheaper variant within the tie window.
CREATE TABLE choices (
    machine  INTEGER NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    op       TEXT NOT NULL,
    m        INTEGER NOT NULL DEFAULT 0 CHECK (m >= 0),
    n        INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0),
    k        INTEGER NOT NULL DEFAULT 0 CHECK (k >= 0),
    rank     INTEGER NOT NULL CHECK (rank >= 1),
    variant  TEXT NOT NULL,
    version  INTEGER NOT NULL,
    median_s REAL NOT NULL,
    margin   REAL,
    run      INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    PRIMARY KEY (machine, op, m, n, k, rank),
    UNIQUE (machine, op, m, n, k, variant),
    FOREIGN KEY (op, variant, version) REFERENCES variants (op, name, version)
);
CREATE INDEX choices_by_variant ON choices (op, variant, version);
CREATE INDEX choices_by_run ON choices (run);

-- Measured limits of a machine, for roofline figures: 'mem_bw_gbs', 'peak_gflops_f32', ...
CREATE TABLE limits (
    machine     INTEGER NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       REAL NOT NULL,
    measured_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (machine, name)
);

-- Calls counted by the library under KTUNE_PROFILE, per op and size.
CREATE TABLE profiled_calls (
    machine INTEGER NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    op      TEXT NOT NULL,
    m       INTEGER NOT NULL DEFAULT 0 CHECK (m >= 0),
    n       INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0),
    k       INTEGER NOT NULL DEFAULT 0 CHECK (k >= 0),
    calls   INTEGER NOT NULL DEFAULT 0 CHECK (calls >= 0),
    total_s REAL NOT NULL DEFAULT 0,
    updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (machine, op, m, n, k)
);

-- ---- Views for people (sqlite3 ktune.db 'select * from winners') ----------------------

-- The winner at each tuned size.
CREATE VIEW winners AS
SELECT ma.fingerprint AS machine, c.op, c.m, c.n, c.k,
       c.variant, c.version,
       round(c.median_s * 1e6, 3) AS median_us,
       round(c.margin, 4) AS margin,
       r2.variant AS runner_up
FROM choices AS c
JOIN machines AS ma ON ma.id = c.machine
LEFT JOIN choices AS r2
       ON r2.machine = c.machine AND r2.op = c.op
      AND r2.m = c.m AND r2.n = c.n AND r2.k = c.k AND r2.rank = 2
WHERE c.rank = 1;

-- Consecutive tuned sizes of one op (ordered by m, n, k) whose winners differ: the
-- crossover lies between size "below" and size "above".
CREATE VIEW crossovers AS
SELECT machine, op,
       below_m, below_n, below_k, below_variant,
       m AS above_m, n AS above_n, k AS above_k, variant AS above_variant
FROM (SELECT ma.fingerprint AS machine, c.op, c.m, c.n, c.k, c.variant,
             lag(c.m) OVER w AS below_m, lag(c.n) OVER w AS below_n,
             lag(c.k) OVER w AS below_k, lag(c.variant) OVER w AS below_variant
      FROM choices AS c
      JOIN machines AS ma ON ma.id = c.machine
      WHERE c.rank = 1
      WINDOW w AS (PARTITION BY c.machine, c.op ORDER BY c.m, c.n, c.k))
WHERE below_variant IS NOT NULL AND below_variant <> variant;

-- Measurements with the machine's fingerprint, times in microseconds, spread in percent.
CREATE VIEW measurements_readable AS
SELECT ma.fingerprint AS machine, me.op, me.m, me.n, me.k, me.variant, me.version,
       CASE me.valid WHEN 1 THEN 'ok' ELSE 'FAILED' END AS valid,
       me.samples,
       round(me.median_s * 1e6, 3) AS median_us,
       round(me.min_s * 1e6, 3) AS min_us,
       round(me.kernel_s * 1e6, 3) AS kernel_us,
       round(me.spread * 100, 2) AS spread_pct,
       round(me.gflops, 3) AS gflops,
       round(me.gbs, 3) AS gbs,
       me.error, me.run, me.measured_at
FROM measurements AS me
JOIN machines AS ma ON ma.id = me.machine;

-- Profiled calls, the most expensive first, with their share of the machine's total.
CREATE VIEW hotspots AS
SELECT ma.fingerprint AS machine, p.op, p.m, p.n, p.k, p.calls,
       round(p.total_s, 6) AS total_s,
       round(p.total_s * 1e6 / nullif(p.calls, 0), 3) AS avg_us,
       round(100.0 * p.total_s / nullif(sum(p.total_s) OVER (PARTITION BY p.machine), 0), 1)
           AS pct,
       p.updated
FROM profiled_calls AS p
JOIN machines AS ma ON ma.id = p.machine
ORDER BY ma.fingerprint, p.total_s DESC;
