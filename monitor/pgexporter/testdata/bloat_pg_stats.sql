-- The bloat estimates as monitor.sql made them before they read
-- pg_statistic: through pg_stats, matched by schema, table and column
-- name. The new ones must give the same rows.
CREATE SCHEMA bloat_ref;

CREATE OR REPLACE FUNCTION bloat_ref.pg_table_bloat()
RETURNS TABLE (datname text, nspname text, relname text, tblid oid, size bigint, ratio float8)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH cols AS (
        SELECT c.oid AS tblid, s.null_frac, s.avg_width
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
                            AND s.attname = a.attname AND NOT s.inherited
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
$$;

CREATE OR REPLACE FUNCTION bloat_ref.pg_index_bloat()
RETURNS TABLE (datname text, nspname text, relname text, tblid oid, idxid oid, size bigint, ratio float8)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH cols AS (
        -- each column a btree leaf tuple stores, with the statistics of its
        -- table column, or of the index itself for an expression
        SELECT i.indexrelid AS idxid, s.null_frac, s.avg_width
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_class tc ON tc.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
        CROSS JOIN LATERAL generate_series(0, i.indnatts - 1) AS k(pos)
        JOIN pg_attribute ia ON ia.attrelid = i.indexrelid AND ia.attnum = k.pos + 1
        LEFT JOIN pg_attribute ta ON ta.attrelid = i.indrelid AND ta.attnum = i.indkey[k.pos]
        LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND NOT s.inherited AND (
                 (i.indkey[k.pos] <> 0 AND s.tablename = tc.relname AND s.attname = ta.attname)
              OR (i.indkey[k.pos] = 0 AND s.tablename = ic.relname AND s.attname = ia.attname))
        WHERE ic.relpages > 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
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
$$;
