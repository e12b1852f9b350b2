# Shared by test/run and test/demo: where PostgreSQL lives, running commands as
# the cluster's OS user, and a cluster's lifecycle.

bindir=$(pg_config --bindir)
pgxs_src=$(dirname "$(dirname "$(pg_config --pgxs)")")
pg_regress=$pgxs_src/test/regress/pg_regress

# PostgreSQL refuses to run as root, so as root the cluster runs as postgres.
if [[ $(id -u) -eq 0 ]]; then
	cluster_user=postgres
	as_cluster_user() { runuser -u postgres -- "$@"; }
else
	cluster_user=$(id -un)
	as_cluster_user() { "$@"; }
fi

# cluster_create DIR [conf lines...]: initdb with aiml and pg_cron preloaded.
cluster_create() {
	local dir=$1
	shift
	as_cluster_user "$bindir/initdb" --no-sync -A trust -U postgres -E UTF8 \
		--locale=C -D "$dir/data" >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	{
		echo "shared_preload_libraries = 'aiml,pg_cron'"
		echo "unix_socket_directories = '$dir'"
		echo "fsync = off"
		echo "log_line_prefix = '%m [%p] %q%a '"
		for line in "$@"; do echo "$line"; done
	} | as_cluster_user tee -a "$dir/data/postgresql.conf" >/dev/null
}

cluster_start() {
	local dir=$1
	as_cluster_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
		tail -n 30 "$dir/server.log" >&2
		return 1
	}
}

cluster_stop() {
	local dir=$1
	[[ -f "$dir/data/postmaster.pid" ]] &&
		as_cluster_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
	return 0
}

# A directory the cluster user owns and the invoking user can clean up.
make_work_dir() {
	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	chmod 755 "$dir"
	[[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
	echo "$dir"
}
