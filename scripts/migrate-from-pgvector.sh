#!/usr/bin/env bash
# Copies a database that uses pgvector into a new database that uses vecgo:
# pg_dump of the source, the `vector` extension swapped for vecgo, restore,
# and every pgvector index (hnsw, ivfflat) recreated as a vecgo index with the
# operator class of the same name. The source is only read (pg_dump and
# catalog queries); it is never changed or dropped.
#
#   scripts/migrate-from-pgvector.sh [options] SOURCE_DB TARGET_DB
#
# Options (connections default to the libpq environment: PGHOST, PGPORT, PGUSER):
#   -h HOST, -p PORT, -U USER    the server of both databases
#   --target-host HOST, --target-port PORT, --target-user USER
#                                the target's server, when it is another one
#   --maintenance-db NAME        database to connect to when creating the
#                                target (default postgres)
#   -j N                         parallel restore jobs (default 2)
#   --dump-file FILE             keep the dump in FILE (default: a temporary file)
#   --no-owner                   restore without the source's owners and grants
#   --keep-failed-target         on failure, keep a target this run created
#                                (by default it is dropped; never the source)
#
# TARGET_DB is created when missing; an existing one must hold no tables.
# Index options: hnsw's m and ef_construction become vecgo's options of the
# same names (the parameters of vecgo's in-memory HNSW MemTable; the DiskANN
# graph that CREATE INDEX builds keeps vecgo's defaults); ivfflat's lists is
# dropped (vecgo has no training step). Anything that cannot be carried over
# (a type, function, operator or operator class vecgo lacks, an unknown index
# option, a partitioned pgvector index) stops the run with a message and
# exit status 1, before any data is restored.
set -euo pipefail

die() { echo "migrate-from-pgvector: ERROR: $*" >&2; exit 1; }
say() { echo "migrate-from-pgvector: $*"; }

src_conn=() tgt_conn=() tgt_host= tgt_port= tgt_user= maint_db=postgres jobs=2 dump_file= no_owner= keep_failed=
while [ $# -gt 0 ]; do
  case "$1" in
    -h) src_conn+=(-h "$2"); tgt_host=${tgt_host:-$2}; shift 2 ;;
    -p) src_conn+=(-p "$2"); tgt_port=${tgt_port:-$2}; shift 2 ;;
    -U) src_conn+=(-U "$2"); tgt_user=${tgt_user:-$2}; shift 2 ;;
    --target-host) tgt_host=$2; shift 2 ;;
    --target-port) tgt_port=$2; shift 2 ;;
    --target-user) tgt_user=$2; shift 2 ;;
    --maintenance-db) maint_db=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --dump-file) dump_file=$2; shift 2 ;;
    --no-owner) no_owner=1; shift ;;
    --keep-failed-target) keep_failed=1; shift ;;
    --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || die "usage: $0 [options] SOURCE_DB TARGET_DB (see --help)"
source_db=$1 target_db=$2
[ -n "$tgt_host" ] && tgt_conn+=(-h "$tgt_host")
[ -n "$tgt_port" ] && tgt_conn+=(-p "$tgt_port")
[ -n "$tgt_user" ] && tgt_conn+=(-U "$tgt_user")
for tool in psql pg_dump pg_restore; do command -v "$tool" >/dev/null || die "$tool not found in PATH"; done

src() { psql -X -q -At -v ON_ERROR_STOP=1 "${src_conn[@]}" -d "$source_db" "$@"; }
tgt() { psql -X -q -At -v ON_ERROR_STOP=1 "${tgt_conn[@]}" -d "$target_db" "$@"; }
maint() { psql -X -q -At -v ON_ERROR_STOP=1 "${tgt_conn[@]}" -d "$maint_db" "$@"; }

work=$(mktemp -d)
created_target=
cleanup() {
  local rc=$?
  rm -rf "$work"
  if [ $rc -ne 0 ] && [ -n "$created_target" ]; then
    if [ -n "$keep_failed" ]; then
      say "the target database \"$target_db\" this run created is left as it is (--keep-failed-target)"
    else
      say "dropping the target database \"$target_db\" this run created"
      maint -c "DROP DATABASE IF EXISTS \"${target_db//\"/\"\"}\"" || true
    fi
  fi
  [ $rc -ne 0 ] && echo "migrate-from-pgvector: FAILED; the source database \"$source_db\" was not changed" >&2
  exit $rc
}
trap cleanup EXIT

# ---------------------------------------------------------------- the source
src -c "SELECT 1" >/dev/null || die "cannot connect to the source database \"$source_db\""
ext=$(src -F '|' -c "SELECT e.oid, n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'")
[ -n "$ext" ] || die "the source database \"$source_db\" does not use pgvector (no extension \"vector\")"
IFS='|' read -r ext_oid ext_schema ext_version <<<"$ext"
say "source \"$source_db\": pgvector $ext_version in schema \"$ext_schema\""

# Never the same database as the source (same server identifier and name).
src_id=$(src -c "SELECT system_identifier || '/' || current_database() FROM pg_control_system()")
if tgt_id=$(psql -X -q -At "${tgt_conn[@]}" -d "$target_db" -c "SELECT system_identifier || '/' || current_database() FROM pg_control_system()" 2>/dev/null); then
  [ "$tgt_id" != "$src_id" ] || die "the target is the source database itself"
  [ "$(tgt -c "SELECT count(*) FROM pg_extension WHERE extname = 'vector'")" = 0 ] ||
    die "the target database \"$target_db\" has pgvector installed"
  n=$(tgt -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')")
  [ "$n" = 0 ] || die "the target database \"$target_db\" is not empty ($n tables or views)"
  target_exists=1
else
  target_exists=
fi

# The pgvector indexes, and what each becomes. Every field is computed here,
# identifiers quoted by the server.
src -F $'\x1f' >"$work/indexes.tsv" <<'SQL'
SELECT ic.oid,
       format('%s.%s', ns.nspname, ic.relname),                                -- as pg_restore -l names it
       format('%I.%I', ns.nspname, ic.relname),
       am.amname, opc.opcname, ic.relkind,
       (SELECT count(*) FROM pg_inherits h WHERE h.inhrelid = ic.oid),
       i.indnatts,
       COALESCE(array_to_string(ic.reloptions, ' '), ''),
       -- the CREATE INDEX before and after its WITH clause, which is mapped below
       format('CREATE INDEX %I ON %I.%I USING vecgo (%s %I.%I)',
              ic.relname, tns.nspname, tc.relname,
              CASE WHEN i.indkey[0] = 0 THEN '(' || pg_get_indexdef(i.indexrelid, 1, false) || ')'
                   ELSE pg_get_indexdef(i.indexrelid, 1, false) END,
              opcns.nspname, opc.opcname),
       CASE WHEN ic.reltablespace <> 0 THEN
            format(' TABLESPACE %I', (SELECT spcname FROM pg_tablespace WHERE oid = ic.reltablespace)) ELSE '' END ||
       CASE WHEN i.indpred IS NOT NULL THEN ' WHERE (' || pg_get_expr(i.indpred, i.indrelid) || ')' ELSE '' END,
       ns.nspname, ic.relname
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_namespace ns ON ns.oid = ic.relnamespace
  JOIN pg_class tc ON tc.oid = i.indrelid
  JOIN pg_namespace tns ON tns.oid = tc.relnamespace
  JOIN pg_am am ON am.oid = ic.relam
  JOIN pg_opclass opc ON opc.oid = i.indclass[0]
  JOIN pg_namespace opcns ON opcns.oid = opc.opcnamespace
 WHERE am.amname IN ('hnsw', 'ivfflat')
 ORDER BY 3;
SQL

# Map each index's options; refuse what vecgo cannot take.
: >"$work/create_indexes.sql"
: >"$work/report.txt"
problems=()
opclasses=()
while IFS=$'\x1f' read -r oid toc_name qname amname opcname relkind parents natts options create tail nspname relname; do
  if [ "$relkind" = I ] || [ "$parents" != 0 ]; then
    problems+=("index $qname: a partitioned $amname index (or a partition's); recreate it by hand")
    continue
  fi
  [ "$natts" = 1 ] || { problems+=("index $qname: $natts columns"); continue; }
  with=() notes=()
  for opt in $options; do
    name=${opt%%=*} value=${opt#*=}
    case "$amname/$name" in
      hnsw/m) with+=("m = $value"); notes+=("m=$value kept (vecgo's MemTable graph)") ;;
      hnsw/ef_construction) with+=("ef_construction = $value"); notes+=("ef_construction=$value kept (vecgo's MemTable graph)") ;;
      ivfflat/lists) notes+=("lists=$value dropped (vecgo has no training step)") ;;
      *) problems+=("index $qname: option $opt has no vecgo equivalent") ;;
    esac
  done
  stmt=$create
  [ ${#with[@]} -gt 0 ] && stmt+=" WITH ($(IFS=,; echo "${with[*]}"))"
  stmt+=$tail
  echo "$stmt;" >>"$work/create_indexes.sql"
  opclasses+=("$opcname")
  note=
  for n in "${notes[@]+"${notes[@]}"}"; do note+="${note:+; }$n"; done
  [ -z "$note" ] || note=" ($note)"
  echo "index $qname: $amname $opcname -> vecgo $opcname$note" >>"$work/report.txt"
  echo "$oid" >>"$work/index_oids"
  echo "$nspname INDEX $relname " >>"$work/index_comments"
done <"$work/indexes.tsv"
# Their comments, set again on the vecgo indexes.
src >>"$work/create_indexes.sql" <<'SQL'
SELECT format('COMMENT ON INDEX %I.%I IS %L;', ns.nspname, ic.relname, obj_description(ic.oid, 'pg_class'))
  FROM pg_class ic JOIN pg_namespace ns ON ns.oid = ic.relnamespace JOIN pg_am am ON am.oid = ic.relam
 WHERE am.amname IN ('hnsw', 'ivfflat') AND obj_description(ic.oid, 'pg_class') IS NOT NULL;
SQL
[ ${#problems[@]} -eq 0 ] || die "cannot carry over:$(printf '\n  %s' "${problems[@]}")"
say "$(wc -l <"$work/report.txt") pgvector indexes to recreate as vecgo indexes"

# What user objects use of pgvector (column types, functions and operators in
# views, defaults, constraints, other indexes...): each must exist in vecgo.
src -v ext_oid="$ext_oid" >"$work/used.txt" <<'SQL'
WITH members AS (
  SELECT classid, objid FROM pg_depend
   WHERE refclassid = 'pg_extension'::regclass AND refobjid = :ext_oid AND deptype = 'e'),
pgv_indexes AS (
  SELECT ic.oid FROM pg_class ic JOIN pg_am am ON am.oid = ic.relam WHERE am.amname IN ('hnsw', 'ivfflat'))
SELECT DISTINCT
       CASE d.refclassid
         WHEN 'pg_type'::regclass THEN 'type' || E'\t' || d.refobjid::regtype::text
         WHEN 'pg_proc'::regclass THEN 'function' || E'\t' || d.refobjid::regprocedure::text
         WHEN 'pg_operator'::regclass THEN 'operator' || E'\t' || d.refobjid::regoperator::text
         WHEN 'pg_opclass'::regclass THEN 'opclass' || E'\t' ||
              (SELECT am.amname || ' ' || c.opcname FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod
                WHERE c.oid = d.refobjid)
         ELSE 'other' || E'\t' || pg_describe_object(d.refclassid, d.refobjid, 0)
       END
  FROM pg_depend d
  JOIN members m ON m.classid = d.refclassid AND m.objid = d.refobjid
 WHERE d.deptype = 'n'
   AND NOT EXISTS (SELECT 1 FROM members m2 WHERE m2.classid = d.classid AND m2.objid = d.objid)
   AND d.classid NOT IN ('pg_amop'::regclass, 'pg_amproc'::regclass)   -- parts of the extension's opclasses
   AND NOT (d.classid = 'pg_class'::regclass AND d.objid IN (SELECT oid FROM pgv_indexes))
   AND NOT (d.classid = 'pg_type'::regclass AND EXISTS (       -- array types of the extension's types
         SELECT 1 FROM pg_type t JOIN members m3 ON m3.classid = 'pg_type'::regclass AND m3.objid = t.typelem
          WHERE t.oid = d.objid))
 ORDER BY 1;
SQL

# ---------------------------------------------------------------- dump
dump=${dump_file:-$work/source.dump}
say "pg_dump of \"$source_db\" to $dump"
pg_dump "${src_conn[@]}" -Fc -f "$dump" -d "$source_db" || die "pg_dump failed"
pg_restore -l "$dump" >"$work/full.list"
# Pass 1: the schemas (vecgo goes into pgvector's). Pass 2: everything else
# but the extension, its comment, the pgvector indexes and their comments.
grep -E '^[0-9]+; 2615 [0-9]+ SCHEMA ' "$work/full.list" >"$work/schemas.list" || true
awk -v extoid="$ext_oid" -v oids="$work/index_oids" -v comments="$work/index_comments" '
  BEGIN {
    while ((getline l < oids) > 0) skip_oid[l] = 1
    while ((getline l < comments) > 0) skip_comment["COMMENT " l] = 1
  }
  /^;/ { print; next }
  $2 == "2615" && $4 == "SCHEMA" { next }
  $2 == "3079" && $3 == extoid { next }
  index($0, "; 0 0 COMMENT - EXTENSION vector ") > 0 { next }
  $2 == "1259" && ($3 in skip_oid) { next }
  {
    rest = $0; sub(/^[0-9]+; 0 0 /, "", rest); sub(/[^ ]*$/, "", rest)
    if (rest in skip_comment) next
    print
  }' "$work/full.list" >"$work/rest.list"

# ---------------------------------------------------------------- target
if [ -z "$target_exists" ]; then
  say "creating the target database \"$target_db\""
  maint -c "CREATE DATABASE \"${target_db//\"/\"\"}\"" || die "cannot create the target database \"$target_db\""
  created_target=1
fi
restore_opts=(-e "${tgt_conn[@]}" -d "$target_db")
[ -n "$no_owner" ] && restore_opts+=(--no-owner --no-privileges)
if [ -s "$work/schemas.list" ]; then
  pg_restore "${restore_opts[@]}" -L "$work/schemas.list" "$dump" || die "restoring the schemas failed"
fi
printf '%s\n' 'SET client_min_messages = error;' 'CREATE EXTENSION IF NOT EXISTS vecgo SCHEMA :"s";' | tgt -v s="$ext_schema" ||
  die "CREATE EXTENSION vecgo failed in \"$target_db\" (is vecgo installed on the target server?)"
say "target \"$target_db\": vecgo $(tgt -c "SELECT extversion FROM pg_extension WHERE extname = 'vecgo'") in schema \"$ext_schema\""

# Everything the source uses of pgvector must exist in vecgo.
missing=$(tgt -v used="$(cat "$work/used.txt")" -v opcs="$(printf '%s\n' "${opclasses[@]+"${opclasses[@]}"}")" <<'SQL'
SELECT kind || ' ' || name FROM (
  SELECT split_part(l, E'\t', 1) AS kind, split_part(l, E'\t', 2) AS name
    FROM unnest(string_to_array(:'used', E'\n')) l WHERE l <> '') u
 WHERE CASE kind
         WHEN 'type' THEN to_regtype(name) IS NULL
         WHEN 'function' THEN to_regprocedure(name) IS NULL
         WHEN 'operator' THEN to_regoperator(name) IS NULL
         WHEN 'opclass' THEN NOT EXISTS (SELECT 1 FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod
                                         WHERE am.amname || ' ' || c.opcname = name)
         ELSE true
       END
UNION ALL
SELECT 'vecgo operator class ' || o FROM unnest(string_to_array(:'opcs', E'\n')) o
 WHERE o <> '' AND NOT EXISTS (SELECT 1 FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod
                                WHERE am.amname = 'vecgo' AND c.opcname = o);
SQL
)
[ -z "$missing" ] || die "vecgo lacks what the source uses of pgvector:
$(echo "$missing" | sed 's/^/  /')"

say "restoring into \"$target_db\" (pg_restore -j $jobs)"
pg_restore "${restore_opts[@]}" -j "$jobs" -L "$work/rest.list" "$dump" || die "pg_restore failed"

say "creating the vecgo indexes"
tgt -f "$work/create_indexes.sql" || die "creating the vecgo indexes failed"
tgt -c "ANALYZE" || die "ANALYZE failed"

# Row counts, table by table.
count_sql="SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1"
tables=$(src -c "$count_sql")
bad=0
for t in $tables; do
  a=$(src -c "SELECT count(*) FROM $t") b=$(tgt -c "SELECT count(*) FROM $t")
  if [ "$a" != "$b" ]; then echo "  table $t: $a rows in the source, $b in the target" >&2; bad=1; fi
done
[ $bad = 0 ] || die "row counts differ"

say "done: \"$source_db\" (pgvector) -> \"$target_db\" (vecgo), $(echo "$tables" | grep -c . || true) tables with the same row counts"
sed 's/^/  /' "$work/report.txt"
