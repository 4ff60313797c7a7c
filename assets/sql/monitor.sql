-- The monitor schema: views and functions for monitoring, present in every
-- database because provisioning creates them in template1 and postgres.
--
-- Objects are replaced in place, never dropped: a re-run keeps their OIDs,
-- their grants and the heartbeat row. Everything is granted to pg_monitor
-- only; the last block takes back what default privileges gave others.

CREATE SCHEMA IF NOT EXISTS monitor;
GRANT USAGE ON SCHEMA monitor TO pg_monitor;

----------------------------------------------------------------------
-- heartbeat: one row per cluster, refreshed by beating() on the leader;
-- replicas read the replicated row, so its age is their lag.
----------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS monitor.heartbeat (
    id   varchar(64) PRIMARY KEY,
    ts   timestamptz,
    lsn  bigint,
    txid bigint
);
COMMENT ON TABLE monitor.heartbeat IS 'heartbeat table, contains one row only';

CREATE OR REPLACE FUNCTION monitor.upsert_heartbeat() RETURNS monitor.heartbeat
LANGUAGE sql VOLATILE AS $$
    INSERT INTO monitor.heartbeat AS h (id, ts, lsn, txid)
    VALUES (coalesce(nullif(current_setting('cluster_name', true), ''), 'unknown'),
            now(), pg_current_wal_lsn() - '0/0'::pg_lsn, pg_current_xact_id()::text::bigint)
    ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, lsn = excluded.lsn, txid = excluded.txid
    RETURNING h.*;
$$;
COMMENT ON FUNCTION monitor.upsert_heartbeat() IS 'upsert a heartbeat record';

-- plpgsql rather than a (composite).* expansion, which would run the
-- upsert once per output column.
CREATE OR REPLACE FUNCTION monitor.beating()
RETURNS TABLE (cls text, ts timestamptz, lsn pg_lsn, lsn_int bigint, txid bigint, status text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    beat monitor.heartbeat;
BEGIN
    IF pg_is_in_recovery() THEN
        SELECT * INTO beat FROM monitor.heartbeat AS h
        WHERE h.id = coalesce(nullif(current_setting('cluster_name', true), ''), 'unknown');
        status := 'recovery';
    ELSE
        beat := monitor.upsert_heartbeat();
        status := 'leading';
    END IF;
    cls := beat.id;
    ts := beat.ts;
    lsn := '0/0'::pg_lsn + beat.lsn;
    lsn_int := beat.lsn;
    txid := beat.txid;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION monitor.beating() IS 'refresh heartbeat on leader and return status';

----------------------------------------------------------------------
-- Bloat estimates from the planner statistics: the pages a relation would
-- need for its tuples, against the pages it has. The column statistics
-- are read from pg_statistic by relation oid and column number (the
-- non-inherited rows, what pg_stats shows with inherited false): pg_stats
-- matches them by schema, table and column name and checks privileges
-- row by row, which took a database of 1,000 tables 300 ms a scrape. The
-- functions are SECURITY DEFINER because only superusers read
-- pg_statistic; as their owner sees every column, the result is what
-- pg_stats gives. They are PL/pgSQL, whose plan a session keeps, where a
-- SQL function is planned again on every call (~10 ms here). MAXALIGN is
-- taken as 8 (64-bit builds).
----------------------------------------------------------------------
CREATE OR REPLACE FUNCTION monitor.pg_table_bloat()
RETURNS TABLE (datname text, nspname text, relname text, tblid oid, size bigint, ratio float8)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH cols AS (
        SELECT c.oid AS tblid, s.stanullfrac AS null_frac, s.stawidth AS avg_width
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_statistic s ON s.starelid = c.oid AND s.staattnum = a.attnum AND NOT s.stainherit
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    ), tup AS (
        -- heap tuple: 23-byte header, a null bitmap when any column holds
        -- nulls, then the average width of what is not null
        SELECT tblid,
               23 + CASE WHEN max(null_frac) > 0 THEN (count(*) + 7) / 8 ELSE 0 END AS hdr,
               sum((1 - null_frac) * avg_width) AS width
        FROM cols
        GROUP BY tblid
        -- a column without statistics would make the estimate up
        HAVING count(avg_width) = count(*)
    ), est AS (
        SELECT c.oid, c.relnamespace, c.relname, c.relpages,
               ceil(c.reltuples / greatest(floor(
                   (current_setting('block_size')::numeric - 24)     -- page header
                   * coalesce((SELECT substring(o FROM '^fillfactor=([0-9]+)$')::int
                               FROM unnest(c.reloptions) o WHERE o LIKE 'fillfactor=%'), 100) / 100
                   / (4 + ceil(t.hdr / 8.0) * 8 + ceil(t.width / 8.0) * 8)  -- line pointer + aligned tuple
               ), 1)) AS pages
        FROM tup t
        JOIN pg_class c ON c.oid = t.tblid
        WHERE c.reltuples >= 0
    )
    SELECT current_database()::text, n.nspname::text, e.relname::text, e.oid,
           e.relpages::bigint * current_setting('block_size')::bigint,
           CASE WHEN e.relpages > e.pages THEN (e.relpages - e.pages) / e.relpages::float8 ELSE 0 END
    FROM est e
    JOIN pg_namespace n ON n.oid = e.relnamespace;
END
$$;
COMMENT ON FUNCTION monitor.pg_table_bloat() IS 'postgres table bloat estimate';

CREATE OR REPLACE FUNCTION monitor.pg_index_bloat()
RETURNS TABLE (datname text, nspname text, relname text, tblid oid, idxid oid, size bigint, ratio float8)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH cols AS (
        -- each column a btree leaf tuple stores, with the statistics of its
        -- table column, or of the index itself for an expression
        SELECT i.indexrelid AS idxid, s.stanullfrac AS null_frac, s.stawidth AS avg_width
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
        CROSS JOIN LATERAL (
            SELECT CASE WHEN i.indkey[pos] <> 0 THEN i.indrelid ELSE i.indexrelid END AS relid,
                   CASE WHEN i.indkey[pos] <> 0 THEN i.indkey[pos] ELSE (pos + 1)::int2 END AS attnum
            FROM generate_series(0, i.indnatts - 1) AS pos) AS k
        LEFT JOIN pg_statistic s ON s.starelid = k.relid AND s.staattnum = k.attnum AND NOT s.stainherit
        -- toast indexes never have statistics: leave them out early
        WHERE ic.relpages > 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
    ), tup AS (
        -- index tuple: 8-byte header, plus a 4-byte null bitmap when any
        -- key holds nulls, then the average width of what is not null
        SELECT idxid,
               8 + CASE WHEN max(null_frac) > 0 THEN 4 ELSE 0 END AS hdr,
               sum((1 - null_frac) * avg_width) AS width
        FROM cols
        GROUP BY idxid
        HAVING count(avg_width) = count(*)
    ), est AS (
        SELECT i.indrelid, i.indexrelid, c.relnamespace, c.relname, c.relpages,
               1 + ceil(c.reltuples / greatest(floor(                -- 1: the metapage
                   (current_setting('block_size')::numeric - 24 - 16)  -- page header, btree special space
                   * coalesce((SELECT substring(o FROM '^fillfactor=([0-9]+)$')::int
                               FROM unnest(c.reloptions) o WHERE o LIKE 'fillfactor=%'), 90) / 100
                   / (4 + ceil(t.hdr / 8.0) * 8 + ceil(t.width / 8.0) * 8)
               ), 1)) AS pages
        FROM tup t
        JOIN pg_index i ON i.indexrelid = t.idxid
        JOIN pg_class c ON c.oid = t.idxid
        WHERE c.reltuples >= 0
    )
    SELECT current_database()::text, n.nspname::text, e.relname::text, e.indrelid, e.indexrelid,
           e.relpages::bigint * current_setting('block_size')::bigint,
           CASE WHEN e.relpages > e.pages THEN (e.relpages - e.pages) / e.relpages::float8 ELSE 0 END
    FROM est e
    JOIN pg_namespace n ON n.oid = e.relnamespace;
END
$$;
COMMENT ON FUNCTION monitor.pg_index_bloat() IS 'postgres index bloat estimate (btree-only)';

CREATE OR REPLACE VIEW monitor.pg_table_bloat AS SELECT * FROM monitor.pg_table_bloat();
COMMENT ON VIEW monitor.pg_table_bloat IS 'postgres table bloat estimate';

CREATE OR REPLACE VIEW monitor.pg_index_bloat AS SELECT * FROM monitor.pg_index_bloat();
COMMENT ON VIEW monitor.pg_index_bloat IS 'postgres index bloat estimate (btree-only)';

-- one row per index of a table (one row for a table without index)
CREATE OR REPLACE VIEW monitor.pg_bloat AS
SELECT coalesce(tb.datname, ib.datname)                     AS datname,
       coalesce(tb.nspname, ib.nspname)                     AS nspname,
       coalesce(tb.tblid, ib.tblid)                         AS tblid,
       coalesce(tb.nspname, ib.nspname) || '.' || coalesce(tb.relname,
           (SELECT c.relname::text FROM pg_catalog.pg_class c WHERE c.oid = ib.tblid)) AS tblname,
       tb.size                                              AS tbl_size,
       round(tb.ratio::numeric, 6)                          AS tbl_ratio,
       (tb.size * tb.ratio)::bigint                         AS tbl_wasted,
       ib.idxid,
       ib.nspname || '.' || ib.relname                      AS idxname,
       ib.size                                              AS idx_size,
       round(ib.ratio::numeric, 6)                          AS idx_ratio,
       (ib.size * ib.ratio)::bigint                         AS idx_wasted
FROM monitor.pg_table_bloat tb
FULL OUTER JOIN monitor.pg_index_bloat ib ON ib.tblid = tb.tblid;
COMMENT ON VIEW monitor.pg_bloat IS 'postgres relation bloat detail';

CREATE OR REPLACE VIEW monitor.pg_index_bloat_human AS
SELECT idxname                        AS name,
       tblname,
       idx_wasted                     AS wasted,
       pg_size_pretty(idx_size)       AS idx_size,
       round(100 * idx_ratio, 2)      AS idx_ratio,
       pg_size_pretty(idx_wasted)     AS idx_wasted,
       pg_size_pretty(tbl_size)       AS tbl_size,
       round(100 * tbl_ratio, 2)      AS tbl_ratio,
       pg_size_pretty(tbl_wasted)     AS tbl_wasted
FROM monitor.pg_bloat
WHERE idxname IS NOT NULL
ORDER BY idx_wasted DESC;
COMMENT ON VIEW monitor.pg_index_bloat_human IS 'postgres index bloat info in human-readable format';

CREATE OR REPLACE VIEW monitor.pg_table_bloat_human AS
SELECT tblname                                               AS name,
       tbl_wasted + idx_wasted                               AS wasted,
       pg_size_pretty(tbl_wasted + idx_wasted)               AS all_wasted,
       pg_size_pretty(tbl_wasted)                            AS tbl_wasted,
       pg_size_pretty(tbl_size)                              AS tbl_size,
       round(100 * tbl_ratio, 2)                             AS tbl_ratio,
       pg_size_pretty(idx_wasted)                            AS idx_wasted,
       pg_size_pretty(idx_size)                              AS idx_size,
       round(100 * idx_wasted / nullif(idx_size, 0), 2)      AS idx_ratio
FROM (SELECT tblname,
             coalesce(max(tbl_wasted), 0)  AS tbl_wasted,
             coalesce(max(tbl_size), 0)    AS tbl_size,
             coalesce(max(tbl_ratio), 0)   AS tbl_ratio,
             coalesce(sum(idx_wasted), 0)  AS idx_wasted,
             coalesce(sum(idx_size), 0)    AS idx_size
      FROM monitor.pg_bloat
      WHERE tblname IS NOT NULL
      GROUP BY tblname) t
ORDER BY wasted DESC;
COMMENT ON VIEW monitor.pg_table_bloat_human IS 'postgres table bloat info in human-readable format';

----------------------------------------------------------------------
-- Activity: client backends per database, plus an 'all' row
----------------------------------------------------------------------
CREATE OR REPLACE VIEW monitor.pg_session AS
SELECT CASE WHEN grouping(datname) = 1 THEN 'all' ELSE datname::text END      AS datname,
       count(*)                                                                AS numbackends,
       count(*) FILTER (WHERE state = 'active')                                AS active,
       count(*) FILTER (WHERE state = 'idle')                                  AS idle,
       count(*) FILTER (WHERE state IN ('idle in transaction',
                                        'idle in transaction (aborted)'))      AS ixact,
       max(extract(epoch FROM now() - query_start)) FILTER (WHERE state = 'active') AS max_duration,
       max(extract(epoch FROM now() - xact_start))                             AS max_tx_duration,
       max(extract(epoch FROM now() - backend_start))                          AS max_conn_duration
FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()
GROUP BY ROLLUP (datname)
ORDER BY grouping(datname) DESC, datname;
COMMENT ON VIEW monitor.pg_session IS 'postgres activity group by session';

----------------------------------------------------------------------
-- Sequential scans on user tables
----------------------------------------------------------------------
CREATE OR REPLACE VIEW monitor.pg_seq_scan AS
SELECT schemaname                                                   AS nspname,
       relname,
       seq_scan,
       seq_tup_read,
       seq_tup_read / seq_scan                                      AS seq_tup_avg,
       idx_scan,
       n_live_tup + n_dead_tup                                      AS tuples,
       round(100.0 * n_live_tup / (n_live_tup + n_dead_tup), 2)     AS live_ratio
FROM pg_catalog.pg_stat_user_tables
WHERE seq_scan > 0 AND n_live_tup + n_dead_tup > 0
ORDER BY seq_scan DESC;
COMMENT ON VIEW monitor.pg_seq_scan IS 'table that have seq scan';

----------------------------------------------------------------------
-- Security wrappers
----------------------------------------------------------------------
CREATE OR REPLACE FUNCTION monitor.pg_shmem() RETURNS SETOF pg_catalog.pg_shmem_allocations
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM pg_shmem_allocations;
$$;
COMMENT ON FUNCTION monitor.pg_shmem() IS 'security wrapper for system view pg_shmem_allocations';

-- pgbouncer's auth_query: the verifiers of ordinary users, never of a
-- superuser. Only its owner (the dbsu, pgbouncer's auth_user) may call it.
CREATE OR REPLACE FUNCTION monitor.pgbouncer_auth(p_username text)
RETURNS TABLE (username text, password text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE WARNING 'PgBouncer auth request: %', p_username;
    RETURN QUERY SELECT a.rolname::text, a.rolpassword::text FROM pg_authid a
                 WHERE a.rolname = p_username AND NOT a.rolsuper;
END
$$;
COMMENT ON FUNCTION monitor.pgbouncer_auth(text) IS 'pgbouncer auth_query: verifier of a non-superuser';

----------------------------------------------------------------------
-- Grants
----------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON monitor.heartbeat TO pg_monitor;
GRANT SELECT ON monitor.pg_table_bloat, monitor.pg_index_bloat, monitor.pg_bloat,
                monitor.pg_index_bloat_human, monitor.pg_table_bloat_human,
                monitor.pg_session, monitor.pg_seq_scan TO pg_monitor;
GRANT EXECUTE ON FUNCTION monitor.upsert_heartbeat(), monitor.beating(),
                          monitor.pg_table_bloat(), monitor.pg_index_bloat(),
                          monitor.pg_shmem() TO pg_monitor;

-- Default privileges hand new objects to the business roles as well, and
-- functions start executable by PUBLIC: take both back from the objects
-- of this file. Objects of extensions installed into this schema
-- (pg_stat_statements …) keep the grants their extension chose.
DO $$
DECLARE
    acl record;
BEGIN
    FOR acl IN
        SELECT 'TABLE ' || c.oid::regclass::text AS target, a.grantee
        FROM pg_catalog.pg_class c
        CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) a
        WHERE c.relnamespace = 'monitor'::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND a.grantee NOT IN (c.relowner, 'pg_monitor'::regrole::oid)
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        UNION
        SELECT 'FUNCTION ' || p.oid::regprocedure::text, a.grantee
        FROM pg_catalog.pg_proc p
        CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
        WHERE p.pronamespace = 'monitor'::regnamespace
          AND a.grantee NOT IN (p.proowner, 'pg_monitor'::regrole::oid)
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %s', acl.target,
                       CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE acl.grantee::regrole::text END);
    END LOOP;
END
$$;
