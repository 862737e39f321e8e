-- ktune tuning database, schema version 3: profiles of real calls (issue 9).
--
-- Only adds (tables, indexes, a view), so compat_version stays 1: older readers still
-- read the file.  The table profiled_calls of schema 1 (per machine and shape, no runs)
-- stays as it was: export, import and merge carry it; the library now writes the tables
-- below.
--
-- profile_runs: one row per profiled process.  A program's process writes its row (and
-- replaces its calls and counters) at every flush (kt_profile_flush and at exit), in one
-- transaction: a process killed mid-run keeps what it flushed last.
--   program    the executable's path (/proc/self/exe)
--   args       its arguments after argv[0], space-separated (cut at 1000 bytes)
--   args_hash  FNV-1a 64 of the full argument list (hex): "the same program" is
--              (program, args_hash)
--   session    one `ktune profile` (or one process tree): processes of one session, a
--              forked child and its parent say, are one profile; from
--              KTUNE_PROFILE_SESSION when set, else made at the first process's start
--   pid        of the process; started: when its recording began (a forked child: when
--              it forked); flushed: its last flush
--   status     'running' until its exit flush, then 'complete'
CREATE TABLE profile_runs (
    id            INTEGER PRIMARY KEY,
    machine       INTEGER NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    program       TEXT NOT NULL,
    args          TEXT NOT NULL DEFAULT '',
    args_hash     TEXT NOT NULL,
    session       TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    started       TEXT NOT NULL,
    flushed       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    status        TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete')),
    ktune_version TEXT NOT NULL,
    UNIQUE (machine, session, pid, started)
);
CREATE INDEX profile_runs_by_program ON profile_runs (program, args_hash, started);
CREATE INDEX profile_runs_by_session ON profile_runs (session);

-- profile_calls: per run, op, shape class and the variant that ran.
--   m, n, k     the shape (packed as for measurements); bucket = 1: a log2 class, each
--               dimension rounded down to a power of two (shapes beyond the first few
--               hundred distinct ones of a thread); bucket = 2: calls that found no room
--               in the thread's table (shape unknown, m = n = k = 0)
--   variant, version  what the calls ran (a name this build may not have)
--   calls       every call, counted
--   timed       calls timed (1 in N per shape, N adapted so that clock reads cost under
--               1% of the time spent); timed_s their total seconds
--   total_s     the estimate of all calls' time: calls * timed_s / timed (0 when none
--               was timed); it rests on `timed` calls
CREATE TABLE profile_calls (
    run      INTEGER NOT NULL REFERENCES profile_runs (id) ON DELETE CASCADE,
    op       TEXT NOT NULL,
    m        INTEGER NOT NULL DEFAULT 0 CHECK (m >= 0),
    n        INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0),
    k        INTEGER NOT NULL DEFAULT 0 CHECK (k >= 0),
    bucket   INTEGER NOT NULL DEFAULT 0 CHECK (bucket IN (0, 1, 2)),
    variant  TEXT NOT NULL,
    version  INTEGER NOT NULL DEFAULT 0,
    calls    INTEGER NOT NULL CHECK (calls >= 0),
    timed    INTEGER NOT NULL CHECK (timed >= 0),
    timed_s  REAL NOT NULL CHECK (timed_s >= 0),
    total_s  REAL NOT NULL CHECK (total_s >= 0),
    PRIMARY KEY (run, op, m, n, k, bucket, variant, version)
);

-- profile_counters: the dispatch counters of a run, per op: how calls were dispatched.
--   counter  'tuned' (a tuned shape, exactly), 'neighbour' (the nearest tuned shape),
--            'default' (built-in defaults), 'forced' (KTUNE_FORCE, kt_force), 'strided'
--            (non-unit increments: the strided fallback), 'fallback' (a GPU variant
--            failed and a CPU one ran, or a serial variant ran inside a parallel region)
CREATE TABLE profile_counters (
    run     INTEGER NOT NULL REFERENCES profile_runs (id) ON DELETE CASCADE,
    op      TEXT NOT NULL,
    counter TEXT NOT NULL CHECK (counter IN ('tuned', 'neighbour', 'default', 'forced',
                                             'strided', 'fallback')),
    count   INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (run, op, counter)
);

-- The newest session of each program, its calls summed over the session's processes,
-- the most expensive first, with their share of the session's time.
CREATE VIEW profile_hotspots AS
WITH latest AS (
    SELECT session, program, args, max(started) AS started
    FROM profile_runs
    GROUP BY program, args_hash
    HAVING started = max(started)
)
SELECT l.program, l.args, l.session, c.op, c.m, c.n, c.k, c.bucket, c.variant,
       sum(c.calls) AS calls, sum(c.timed) AS timed,
       round(sum(c.total_s), 6) AS total_s,
       round(100.0 * sum(c.total_s) /
             nullif(sum(sum(c.total_s)) OVER (PARTITION BY l.session), 0), 1) AS pct
FROM latest AS l
JOIN profile_runs AS r ON r.session = l.session
JOIN profile_calls AS c ON c.run = r.id
GROUP BY l.session, c.op, c.m, c.n, c.k, c.bucket, c.variant
ORDER BY l.program, total_s DESC;
