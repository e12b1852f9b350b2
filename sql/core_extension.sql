-- CREATE EXTENSION and DROP EXTENSION: nothing is left behind.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS aiml;
RESET client_min_messages;

SELECT (SELECT count(*) FROM pg_class) AS classes, (SELECT count(*) FROM pg_proc) AS procs,
       (SELECT count(*) FROM pg_type) AS types, (SELECT count(*) FROM pg_namespace) AS schemas,
       (SELECT count(*) FROM pg_policy) AS policies, (SELECT count(*) FROM pg_depend) AS depends,
       (SELECT count(*) FROM pg_init_privs) AS init_privs
\gset before_

CREATE EXTENSION aiml;
SELECT extversion, extrelocatable, extnamespace::regnamespace FROM pg_extension WHERE extname = 'aiml';
-- every object has a comment
SELECT p.oid::regprocedure AS uncommented
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON d.refobjid = e.oid AND e.extname = 'aiml'
WHERE obj_description(p.oid, 'pg_proc') IS NULL
  AND p.proname !~ '_(in|out|recv|send|accum|combine|serialize|deserialize|final)$'
ORDER BY 1;
DROP EXTENSION aiml;

SELECT (SELECT count(*) FROM pg_class) = :before_classes AS classes_same,
       (SELECT count(*) FROM pg_proc) = :before_procs AS procs_same,
       (SELECT count(*) FROM pg_type) = :before_types AS types_same,
       (SELECT count(*) FROM pg_namespace) = :before_schemas AS schemas_same,
       (SELECT count(*) FROM pg_policy) = :before_policies AS policies_same,
       (SELECT count(*) FROM pg_depend) = :before_depends AS depends_same,
       (SELECT count(*) FROM pg_init_privs) = :before_init_privs AS init_privs_same;

CREATE EXTENSION aiml;
