-- ALTER EXTENSION aiml UPDATE from every released version: the data survives,
-- and the upgraded extension equals a fresh install of the current version,
-- object by object (functions with their attributes and bodies, aggregates,
-- tables, views, types, policies, triggers, comments, privileges, dump
-- configuration).  A change to the SQL of src/ without its upgrade script
-- shows up here as a difference.
-- It runs in a database of its own: other tests' objects may depend on aiml.
SELECT current_database() AS home \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS aiml_upgrade;
RESET client_min_messages;
CREATE DATABASE aiml_upgrade;
\c aiml_upgrade

-- Every object of the extension with what defines it.
CREATE FUNCTION pg_temp.aiml_objects() RETURNS TABLE (object text, detail text, comment text)
LANGUAGE sql AS $$
SELECT pg_describe_object(d.classid, d.objid, 0),
  CASE d.classid
  WHEN 'pg_proc'::regclass THEN (
    SELECT concat_ws(' | ', p.prokind, p.provolatile, p.proparallel, p.proisstrict, p.prosecdef,
                     p.proleakproof, p.proretset, p.prorettype::regtype, p.procost, p.prorows,
                     pg_get_function_arguments(p.oid), p.proconfig::text, md5(p.prosrc),
                     p.probin, p.proacl::text,
                     (SELECT concat_ws(',', a.aggkind, a.aggtransfn, a.aggfinalfn, a.aggcombinefn,
                                       a.aggserialfn, a.aggdeserialfn, a.aggtranstype::regtype,
                                       a.aggfinalmodify, a.agginitval)
                      FROM pg_aggregate a WHERE a.aggfnoid = p.oid))
    FROM pg_proc p WHERE p.oid = d.objid)
  WHEN 'pg_class'::regclass THEN (
    SELECT concat_ws(' | ', c.relkind, c.relrowsecurity, c.relacl::text,
      (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                         || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
                         || coalesce(' -- ' || col_description(c.oid, a.attnum), ''),
                         ', ' ORDER BY a.attnum)
       FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
      CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
      (SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), ', ' ORDER BY co.conname)
       FROM pg_constraint co WHERE co.conrelid = c.oid),
      (SELECT string_agg(pg_get_indexdef(i.indexrelid), ', ' ORDER BY 1)
       FROM pg_index i WHERE i.indrelid = c.oid),
      (SELECT string_agg(concat_ws(' ', pol.polname, pol.polcmd, pol.polroles::text,
                                   pg_get_expr(pol.polqual, pol.polrelid),
                                   pg_get_expr(pol.polwithcheck, pol.polrelid)), ', ' ORDER BY pol.polname)
       FROM pg_policy pol WHERE pol.polrelid = c.oid),
      (SELECT string_agg(pg_get_triggerdef(t.oid), ', ' ORDER BY t.tgname)
       FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal))
    FROM pg_class c WHERE c.oid = d.objid)
  WHEN 'pg_type'::regclass THEN (
    SELECT concat_ws(' | ', t.typtype, t.typlen, t.typalign, t.typstorage, t.typinput, t.typoutput,
                     t.typreceive, t.typsend, t.typmodin, t.typacl::text,
                     (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                                        ORDER BY a.attnum)
                      FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0))
    FROM pg_type t WHERE t.oid = d.objid)
  WHEN 'pg_namespace'::regclass THEN (
    SELECT n.nspacl::text FROM pg_namespace n WHERE n.oid = d.objid)
  END,
  obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid))
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
WHERE e.extname = 'aiml' AND d.deptype = 'e'
UNION ALL
SELECT 'extension configuration', array_to_string(ARRAY(SELECT x::regclass::text FROM unnest(extconfig) x), ', '),
       array_to_string(extcondition, ', ')
FROM pg_extension WHERE extname = 'aiml'
UNION ALL
SELECT 'initial privileges of ' || pg_describe_object(i.classoid, i.objoid, i.objsubid), i.privtype::text,
       i.initprivs::text
FROM pg_init_privs i JOIN pg_depend d ON d.classid = i.classoid AND d.objid = i.objoid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'aiml'
$$;

-- 0.1.0, with a saved model in it
CREATE EXTENSION aiml VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'aiml';
SELECT aiml.save_model('kept over the upgrade', aiml.scaler(ARRAY[x::float8])) IS NOT NULL AS saved
FROM generate_series(1, 10) x;

ALTER EXTENSION aiml UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'aiml';
SELECT aiml.describe(aiml.load_model('kept over the upgrade'))->>'rows' AS rows_of_kept_model;
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.aiml_objects();
SELECT aiml.drop_model('kept over the upgrade');

DROP EXTENSION aiml;
CREATE EXTENSION aiml;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.aiml_objects();

-- what the snapshot holds (so an empty one cannot pass; a new object changes the count)
SELECT count(*) AS objects,
       count(*) FILTER (WHERE object LIKE 'function aiml.set_metric_source_secret%'
                        AND detail LIKE '%log_min_error_statement=panic%') AS hardened_secret_setter
FROM fresh;

-- the differences: none
(SELECT 'only after upgrade' AS side, * FROM upgraded EXCEPT SELECT 'only after upgrade', * FROM fresh)
UNION ALL
(SELECT 'only when fresh', * FROM fresh EXCEPT SELECT 'only when fresh', * FROM upgraded)
ORDER BY 2, 1;

\c :home
DROP DATABASE aiml_upgrade;
