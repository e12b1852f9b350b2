# Shared by test/run and test/demo: a private installation of PostgreSQL
# with aiml, running commands as the cluster's OS user, a cluster's lifecycle.

: "${PG_CONFIG:=pg_config}"

# install_private DIR: copy the server's installation (binaries, libraries,
# share files) under DIR and install aiml into that copy.  PostgreSQL finds
# its share and library directories relative to its binaries, so a cluster
# started from the copy loads this build of aiml without touching the
# system's directories: no root needed, and parallel checkouts do not collide.
install_private() {
	local dir=$1 root=$2 sys_bindir sys_sharedir
	sys_bindir=$("$PG_CONFIG" --bindir)
	sys_sharedir=$("$PG_CONFIG" --sharedir)
	mkdir -p "$dir$(dirname "$(dirname "$sys_bindir")")" "$dir$(dirname "$sys_sharedir")"
	cp -a "$(dirname "$sys_bindir")" "$dir$(dirname "$(dirname "$sys_bindir")")/"
	cp -a "$sys_sharedir" "$dir$(dirname "$sys_sharedir")/"
	make -s -C "$root" install DESTDIR="$dir" PG_CONFIG="$PG_CONFIG" >"$dir.install.log" 2>&1 || {
		cat "$dir.install.log" >&2
		return 1
	}
	use_private "$dir"
}

# use_private DIR: point bindir, pgxs_src and pg_regress into the private
# installation under DIR.
use_private() {
	bindir=$1$("$PG_CONFIG" --bindir)
	pgxs_src=$1$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")
	pg_regress=$pgxs_src/test/regress/pg_regress
}

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
