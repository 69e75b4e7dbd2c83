# shellcheck shell=bash
# Shared by tools/up and tools/test: the Debian packages, the CMake build, and a private
# MariaDB + Redis bound to 127.0.0.1 whose state lives under var/ of this checkout.
#
# The callers run with `set -euo pipefail`; every function here relies on it. We never
# touch a system MariaDB or Redis: ours run on their own ports, sockets and data
# directories, and only the processes this shell started are ever stopped (by pid).
#
# Typical use:
#   source tools/lib/services.sh
#   install_missing_packages
#   build_tree build
#   configure_services "$DBPROXY_ROOT/var" 13306 16379 "$password"
#   trap stop_started_services EXIT
#   start_private_services
#   print_service_summary

DBPROXY_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)

# Everything needed to build, test and package dbproxy on Debian 12. rpm is here because
# the packaging tests build the .rpm too; clang-format-16 is the pinned formatter.
DBPROXY_DEB_PACKAGES=(
  build-essential cmake pkg-config
  libuv1-dev libprotobuf-dev protobuf-compiler libhiredis-dev default-libmysqlclient-dev
  libspdlog-dev libyaml-cpp-dev libgtest-dev libcurl4-openssl-dev libssl-dev
  mariadb-server mariadb-client redis-server redis-sentinel
  clang-format-16 rpm file python3
  systemd  # systemd-analyze verify of the shipped unit (tests/packaging/run.sh)
  prometheus  # promtool: lints /metrics, checks and unit-tests packaging/monitoring rules
  clang-16 libclang-rt-16-dev  # libFuzzer targets (tools/fuzz, tests/fuzz)
  openssl  # a throwaway CA and certificates for MySQL TLS (tests/tls)
)

# Seconds we wait for a service to answer or to exit before we give up on it.
SERVICE_START_TIMEOUT_S=${DBPROXY_SERVICE_START_TIMEOUT_S:-90}
SERVICE_STOP_TIMEOUT_S=30

# Filled by configure_services.
SERVICES_DIR=""
MARIADB_DIR=""
MARIADB_PORT=""
MARIADB_SOCKET=""
MARIADB_PASSWORD=""
REDIS_DIR=""
REDIS_PORT=""

# Pids of the services this shell started. Reused services leave these empty, so
# stop_started_services never stops a server someone else (another tools/up) depends on.
STARTED_MARIADB_PID=""
STARTED_REDIS_PID=""
# "started" or "reused", for the summary.
MARIADB_ORIGIN=""
REDIS_ORIGIN=""

log_step() {
  printf '==> %s\n' "$*" >&2
}

die() {
  printf '%s: error: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

# Prints the last lines of a log file (if any) to stderr, to explain a failure.
show_log_tail() {
  local file=$1
  if [[ -f $file ]]; then
    printf -- '---- last lines of %s ----\n' "$file" >&2
    tail -n 40 -- "$file" >&2
    printf -- '----\n' >&2
  fi
}

# ---------------------------------------------------------------------------------------
# Packages and build

# Installs whichever of DBPROXY_DEB_PACKAGES are missing: one `apt-get update`, one install.
# Nothing runs apt when everything is present, so a second run costs a few dpkg-query calls.
install_missing_packages() {
  local missing=() pkg
  for pkg in "${DBPROXY_DEB_PACKAGES[@]}"; do
    # shellcheck disable=SC2016  # ${db:Status-Status} is dpkg-query's format, not ours
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  log_step "installing Debian packages: ${missing[*]}"
  local as_root=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "missing packages (${missing[*]}) and not root; install them first"
    as_root=(sudo)
  fi
  # The package scripts would start a system MariaDB on 3306 and a system Redis on 6379.
  # We never use them; a temporary policy-rc.d (exit 101 = "action forbidden") keeps them
  # from starting. An existing policy-rc.d (e.g. Docker's) is left as it is.
  # shellcheck disable=SC2016  # the script text is for the inner bash, expanded there
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c '
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
      trap "rm -f $policy" EXIT
      trap "exit 130" INT TERM
      printf "#!/bin/sh\nexit 101\n" >"$policy"
      chmod 755 "$policy"
    fi
    apt_options=(-o DPkg::Lock::Timeout=300)
    apt-get "${apt_options[@]}" update
    apt-get "${apt_options[@]}" install -y --no-install-recommends "$@"
  ' install-packages "${missing[@]}"
}

# build_tree <dir> [extra cmake args...]
# Configures (Release, warnings as errors) and builds <dir>. Later arguments win, so
# callers may override the build type.
build_tree() {
  local dir=$1
  shift
  log_step "building $dir"
  cmake -S "$DBPROXY_ROOT" -B "$DBPROXY_ROOT/$dir" -DCMAKE_BUILD_TYPE=Release \
    -DDBPROXY_WERROR=ON "$@"
  cmake --build "$DBPROXY_ROOT/$dir" -j"${DBPROXY_BUILD_JOBS:-2}"
}

# ---------------------------------------------------------------------------------------
# Processes

# True if the pid names a running process (a zombie does not count: it has exited and
# only waits to be reaped by its parent).
pid_is_alive() {
  local pid=$1 state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# pid_from_file <pidfile> <process name>
# Prints the pid if the file names a live process called <process name>; a pid reused by
# some other program after a crash does not count.
pid_from_file() {
  local file=$1 name=$2 pid
  [[ -f $file ]] || return 1
  pid=$(tr -d '[:space:]' <"$file")
  pid_is_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
  printf '%s\n' "$pid"
}

# stop_pid <label> <pid>: SIGTERM, wait, then SIGKILL after SERVICE_STOP_TIMEOUT_S.
stop_pid() {
  local label=$1 pid=$2 i
  pid_is_alive "$pid" || return 0
  log_step "stopping $label (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < SERVICE_STOP_TIMEOUT_S * 10; i++)); do
    pid_is_alive "$pid" || return 0
    sleep 0.1
  done
  printf '%s did not stop within %ss; killing it\n' "$label" "$SERVICE_STOP_TIMEOUT_S" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
# Private services

# configure_services <state dir> <mariadb port> <redis port> <mariadb root password>
configure_services() {
  SERVICES_DIR=$1
  MARIADB_PORT=$2
  REDIS_PORT=$3
  MARIADB_PASSWORD=$4
  MARIADB_DIR=$SERVICES_DIR/mariadb
  MARIADB_SOCKET=$MARIADB_DIR/mariadb.sock
  REDIS_DIR=$SERVICES_DIR/redis
  # A unix socket path must fit in sun_path (108 bytes); say so instead of failing oddly.
  if ((${#MARIADB_SOCKET} > 100)); then
    die "checkout path too long for a unix socket: $MARIADB_SOCKET"
  fi
}

# Starts (or reuses) the private MariaDB and Redis. A lock serialises two scripts
# starting at once on the same state directory (say, two tools/test runs).
start_private_services() {
  mkdir -p "$MARIADB_DIR" "$REDIS_DIR"
  local lock_fd
  exec {lock_fd}>"$SERVICES_DIR/services.lock"
  if ! flock -w "$SERVICE_START_TIMEOUT_S" "$lock_fd"; then
    die "another script holds $SERVICES_DIR/services.lock"
  fi
  # The servers must not inherit the lock: they outlive this critical section.
  start_private_mariadb {lock_fd}>&-
  start_private_redis {lock_fd}>&-
  exec {lock_fd}>&-
}

mariadb_config_file() {
  printf '%s\n' "$MARIADB_DIR/my.cnf"
}

# Writes our own option file. The server and clients read only this file
# (--defaults-file), so /etc/mysql settings of a system install never leak in.
# DBPROXY_MARIADB_EXTRA_CNF: more [mysqld] lines (tools/bench/ab-send --digests turns on
# performance_schema with it).
write_mariadb_config() {
  local run_as=""
  # mariadbd refuses to run as root unless told to; as another user it needs no user=.
  if ((EUID == 0)); then
    run_as="user=root"
  fi
  cat >"$(mariadb_config_file)" <<EOF
# Written by tools/lib/services.sh; rewritten on every start.
[mysqld]
$run_as
datadir=$MARIADB_DIR/data
socket=$MARIADB_SOCKET
pid-file=$MARIADB_DIR/mariadb.pid
log-error=$MARIADB_DIR/mariadb.log
port=$MARIADB_PORT
bind-address=127.0.0.1
skip-name-resolve
innodb_flush_log_at_trx_commit=1
innodb_buffer_pool_size=256M
max_connections=1000
character-set-server=utf8mb4
${DBPROXY_MARIADB_EXTRA_CNF:-}

[client]
socket=$MARIADB_SOCKET
port=$MARIADB_PORT
EOF
}

# The mariadb client as root over our socket, authenticated by password.
mariadb_as_root() {
  MYSQL_PWD=$MARIADB_PASSWORD mariadb --defaults-file="$(mariadb_config_file)" --user=root "$@"
}

# Quotes a string as an SQL literal body (backslash and quote escaped).
sql_quote() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//\'/\\\'}"
}

start_private_mariadb() {
  local pid
  if pid=$(pid_from_file "$MARIADB_DIR/mariadb.pid" mariadbd); then
    log_step "reusing MariaDB (pid $pid) on 127.0.0.1:$MARIADB_PORT"
    MARIADB_ORIGIN=reused
    # A previous run may have been stopped before it loaded the demo data.
    mariadb_ensure_root_login
    mariadb_load_demo_data
    return 0
  fi
  write_mariadb_config
  if [[ ! -d $MARIADB_DIR/data/mysql ]]; then
    log_step "initialising MariaDB data directory $MARIADB_DIR/data"
    rm -rf "$MARIADB_DIR/data"
    if ! mariadb-install-db --defaults-file="$(mariadb_config_file)" \
      --auth-root-authentication-method=socket --skip-test-db \
      >"$MARIADB_DIR/install.log" 2>&1; then
      show_log_tail "$MARIADB_DIR/install.log"
      die "mariadb-install-db failed"
    fi
  fi
  log_step "starting MariaDB on 127.0.0.1:$MARIADB_PORT"
  rm -f "$MARIADB_DIR/mariadb.pid"
  # setsid: a Ctrl-C in the terminal reaches only the script, which then stops
  # dbproxyd first and MariaDB last, in that order.
  setsid mariadbd --defaults-file="$(mariadb_config_file)" </dev/null \
    >>"$MARIADB_DIR/mariadb.log" 2>&1 &
  STARTED_MARIADB_PID=$!
  MARIADB_ORIGIN=started
  mariadb_wait_until_ready
  mariadb_ensure_root_login
  mariadb_load_demo_data
}

# Waits until the server answers on its socket. `mariadb-admin ping` succeeds even when
# access is denied, so it works before root has a password.
mariadb_wait_until_ready() {
  local i
  for ((i = 0; i < SERVICE_START_TIMEOUT_S * 5; i++)); do
    if ! pid_is_alive "$STARTED_MARIADB_PID"; then
      show_log_tail "$MARIADB_DIR/mariadb.log"
      die "MariaDB exited during start-up (port $MARIADB_PORT busy?)"
    fi
    if mariadb-admin --defaults-file="$(mariadb_config_file)" --connect-timeout=2 \
      ping >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  show_log_tail "$MARIADB_DIR/mariadb.log"
  die "MariaDB did not answer within ${SERVICE_START_TIMEOUT_S}s"
}

# Makes root log in with MARIADB_PASSWORD over TCP 127.0.0.1 (what dbproxyd and the
# tests use) and over the socket. A fresh data directory only has unix_socket auth for
# root@localhost, so the first run sets it up through the socket as the OS user; the
# `OR unix_socket` keeps that door open if the password changes later.
mariadb_ensure_root_login() {
  if MYSQL_PWD=$MARIADB_PASSWORD mariadb --defaults-file="$(mariadb_config_file)" \
    --protocol=TCP --host=127.0.0.1 --user=root -e 'SELECT 1' >/dev/null 2>&1; then
    return 0
  fi
  log_step "setting the MariaDB root password (TCP 127.0.0.1 and socket)"
  local pw
  pw=$(sql_quote "$MARIADB_PASSWORD")
  # mariadb-install-db gives unix_socket access to root and to the OS user running it.
  local os_user
  os_user=$(id -un)
  mariadb --defaults-file="$(mariadb_config_file)" --user="$os_user" <<EOF
ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('$pw') OR unix_socket;
CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER root@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
EOF
}

# Loads etc/schema.sql and etc/demo_data.sql into database `teamtalk`, once. The marker
# is written only after a complete load, so an interrupted load is redone from scratch
# (database dropped first) on the next start.
mariadb_load_demo_data() {
  local schema=$DBPROXY_ROOT/etc/schema.sql demo=$DBPROXY_ROOT/etc/demo_data.sql
  local marker=$MARIADB_DIR/teamtalk.loaded
  if [[ ! -f $schema || ! -f $demo ]]; then
    printf 'note: etc/schema.sql or etc/demo_data.sql missing; database teamtalk not loaded\n' >&2
    return 0
  fi
  local checksum
  checksum=$(cat -- "$schema" "$demo" | sha256sum | cut -d' ' -f1)
  if [[ -f $marker ]]; then
    if [[ $(cat "$marker") != "$checksum" ]]; then
      printf 'note: etc/schema.sql or demo_data.sql changed since %s was loaded;\n' \
        "$MARIADB_DIR" >&2
      printf '      remove %s to reload (drops database teamtalk)\n' "$marker" >&2
    fi
    return 0
  fi
  log_step "loading etc/schema.sql and etc/demo_data.sql into database teamtalk"
  mariadb_as_root -e 'DROP DATABASE IF EXISTS teamtalk;
    CREATE DATABASE teamtalk CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci'
  mariadb_as_root teamtalk <"$schema"
  # One transaction: with innodb_flush_log_at_trx_commit=1 a commit per row is slow.
  { printf 'SET autocommit=0;\n'; cat -- "$demo"; printf '\nCOMMIT;\n'; } |
    mariadb_as_root teamtalk
  printf '%s\n' "$checksum" >"$marker"
}

redis_cli() {
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

# True if Redis answers on REDIS_PORT and is the process <pid> (and not some other
# Redis that happens to hold the port).
redis_is_ours() {
  local pid=$1 answered
  answered=$(redis_cli INFO server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p') || return 1
  [[ -n $answered && $answered == "$pid" ]]
}

start_private_redis() {
  local pidfile=$REDIS_DIR/redis.pid pid
  if pid=$(pid_from_file "$pidfile" redis-server) && redis_is_ours "$pid"; then
    log_step "reusing Redis (pid $pid) on 127.0.0.1:$REDIS_PORT"
    REDIS_ORIGIN=reused
    return 0
  fi
  log_step "starting Redis on 127.0.0.1:$REDIS_PORT"
  rm -f "$pidfile"
  # No persistence: the demo data is reloaded on every start, and tests flush their dbs.
  # 256 databases: dbproxy uses 1..5; the test harness takes blocks of five from 16 up.
  # Not --daemonize: as our own child (in its own session, like MariaDB) a failed start
  # such as a busy port is seen at once instead of at the deadline. It logs to stdout,
  # so errors from before its logging starts land in the same file.
  setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --databases 256 \
    --dir "$REDIS_DIR" --save "" --appendonly no --daemonize no --pidfile "$pidfile" \
    </dev/null >>"$REDIS_DIR/redis.log" 2>&1 &
  STARTED_REDIS_PID=$!
  REDIS_ORIGIN=started
  local i
  for ((i = 0; i < SERVICE_START_TIMEOUT_S * 5; i++)); do
    if ! pid_is_alive "$STARTED_REDIS_PID"; then
      show_log_tail "$REDIS_DIR/redis.log"
      die "Redis exited during start-up (port $REDIS_PORT busy?)"
    fi
    if redis_is_ours "$STARTED_REDIS_PID"; then
      redis_load_demo_data
      return 0
    fi
    sleep 0.2
  done
  show_log_tail "$REDIS_DIR/redis.log"
  die "Redis did not answer on 127.0.0.1:$REDIS_PORT within ${SERVICE_START_TIMEOUT_S}s"
}

# redis_load_command_file <db> <file>: one Redis command per line (inline syntax, quotes
# allowed); blank lines and # comments are skipped. --pipe exits non-zero if any command
# got an error reply, which plain `redis-cli < file` would not.
redis_load_command_file() {
  local db=$1 file=$2
  if ! { grep -Ev '^[[:space:]]*(#|$)' "$file" || true; } |
    redis_cli -n "$db" --pipe >"$REDIS_DIR/load.log" 2>&1; then
    show_log_tail "$REDIS_DIR/load.log"
    die "loading $file into Redis db $db failed"
  fi
}

# Loads the demo group membership (db 5, group_member) and unread state (db 1). Runs
# only on a Redis we just started: it keeps no state across restarts.
redis_load_demo_data() {
  local members=$DBPROXY_ROOT/etc/demo_redis.txt unread=$DBPROXY_ROOT/etc/demo_redis_unread.txt
  if [[ -f $members ]]; then
    log_step "loading etc/demo_redis.txt into Redis db 5"
    redis_load_command_file 5 "$members"
  else
    printf 'note: etc/demo_redis.txt missing; Redis demo membership not loaded\n' >&2
  fi
  if [[ -f $unread ]]; then
    log_step "loading etc/demo_redis_unread.txt into Redis db 1"
    redis_load_command_file 1 "$unread"
  else
    printf 'note: etc/demo_redis_unread.txt missing; Redis db 1 left empty\n' >&2
  fi
}

# Stops the MariaDB and Redis this shell started (never reused ones). Safe to call
# more than once, which trap handlers do.
stop_started_services() {
  if [[ -n $STARTED_REDIS_PID ]]; then
    stop_pid Redis "$STARTED_REDIS_PID"
    STARTED_REDIS_PID=""
  fi
  if [[ -n $STARTED_MARIADB_PID ]]; then
    stop_pid MariaDB "$STARTED_MARIADB_PID"
    STARTED_MARIADB_PID=""
  fi
}

print_service_summary() {
  cat >&2 <<EOF
---- private services (state in ${SERVICES_DIR#"$DBPROXY_ROOT"/}/) ----
MariaDB  127.0.0.1:$MARIADB_PORT  user root, password from DBPROXY_MYSQL_PASSWORD  socket $MARIADB_SOCKET  ($MARIADB_ORIGIN)
Redis    127.0.0.1:$REDIS_PORT  dbs unread=1 group_set=2 sync=3 token=4 group_member=5  ($REDIS_ORIGIN)
EOF
}
