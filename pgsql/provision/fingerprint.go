package provision

// fingerprintQuery hashes every catalog row a provisioning statement can
// write, as seen by the current transaction: roles and their attributes
// (not the password: a password step is decided by its own check),
// memberships, role and database settings, comments, databases and their
// ACLs; in the current database its schemas, extensions, default ACLs,
// the functions whose ACL was changed, and the monitor schema's objects
// (what monitor.sql creates). A statement that leaves the hash as it was
// did nothing, and is rolled back to its savepoint.
//
// Catalog columns that the server rewrites on its own (relpages,
// datfrozenxid, …) are left out, and the transaction is REPEATABLE READ,
// so neither vacuum nor other sessions move the hash under a statement.
// Business tables are not hashed: provisioning never touches them, and a
// large database would make every statement slow.
const fingerprintQuery = `WITH m AS (SELECT pg_catalog.to_regnamespace('monitor')::oid AS nsp)
SELECT md5(concat_ws(E'\n',
  (SELECT string_agg(r::text, ',' ORDER BY r.oid) FROM (SELECT oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb,
      rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil FROM pg_catalog.pg_authid) r),
  (SELECT string_agg(m::text, ',' ORDER BY m::text) FROM pg_catalog.pg_auth_members m),
  (SELECT string_agg(s::text, ',' ORDER BY s::text) FROM pg_catalog.pg_db_role_setting s),
  (SELECT string_agg(c::text, ',' ORDER BY c::text) FROM pg_catalog.pg_shdescription c),
  (SELECT string_agg(d::text, ',' ORDER BY d.oid) FROM (SELECT oid, datname, datdba, datistemplate, datallowconn, datconnlimit,
      dattablespace, datacl FROM pg_catalog.pg_database) d),
  (SELECT string_agg(n::text, ',' ORDER BY n.oid) FROM pg_catalog.pg_namespace n),
  (SELECT string_agg(e::text, ',' ORDER BY e.oid) FROM pg_catalog.pg_extension e),
  (SELECT string_agg(a::text, ',' ORDER BY a.oid) FROM pg_catalog.pg_default_acl a),
  (SELECT string_agg(p::text, ',' ORDER BY p.oid) FROM (SELECT oid, proacl FROM pg_catalog.pg_proc
      WHERE pronamespace = 'pg_catalog'::regnamespace AND proacl IS NOT NULL) p),
  (SELECT string_agg(p::text, ',' ORDER BY p.oid) FROM (SELECT oid, proname, proowner, proacl, prosrc, proconfig,
      prosecdef, provolatile, prorettype, proargtypes, proallargtypes, proargnames FROM pg_catalog.pg_proc
      WHERE pronamespace = (SELECT nsp FROM m)) p),
  (SELECT string_agg(c::text, ',' ORDER BY c.oid) FROM (SELECT oid, relname, relowner, relkind, relacl, reloptions
      FROM pg_catalog.pg_class WHERE relnamespace = (SELECT nsp FROM m)) c),
  (SELECT string_agg(a::text, ',' ORDER BY a.attrelid, a.attnum) FROM (SELECT attrelid, attnum, attname, atttypid, attacl
      FROM pg_catalog.pg_attribute WHERE attnum > 0 AND attrelid IN
        (SELECT oid FROM pg_catalog.pg_class WHERE relnamespace = (SELECT nsp FROM m))) a),
  (SELECT string_agg(w::text, ',' ORDER BY w.oid) FROM (SELECT oid, ev_class, ev_action::text FROM pg_catalog.pg_rewrite WHERE ev_class IN
        (SELECT oid FROM pg_catalog.pg_class WHERE relnamespace = (SELECT nsp FROM m))) w),
  (SELECT string_agg(d::text, ',' ORDER BY d::text) FROM pg_catalog.pg_description d
      WHERE (d.classoid = 'pg_catalog.pg_namespace'::regclass)
         OR (d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid IN
               (SELECT oid FROM pg_catalog.pg_class WHERE relnamespace = (SELECT nsp FROM m)))
         OR (d.classoid = 'pg_catalog.pg_proc'::regclass AND d.objoid IN
               (SELECT oid FROM pg_catalog.pg_proc WHERE pronamespace = (SELECT nsp FROM m))))
))`
