#!/usr/bin/env bash
# tests/packaging/run.sh — the package tests, run as root after the normal test run:
#  1. builds dbproxy and dbproxy-dev as .deb and .rpm (Release tree, cpack -G "DEB;RPM");
#  2. installs the .debs with apt, then checks libraries, the dbproxy user, the state
#     directory, the unit and `dbproxyd --check-config -c /etc/dbproxy/dbproxy.yaml`;
#  3. builds the example plugin from /usr/share/doc/dbproxy-dev/example out of tree against
#     the installed SDK only (CMake and pkg-config), plus a dbproxy::proto consumer;
#  4. runs the installed /usr/bin/dbproxyd as user dbproxy with example_kv against the test
#     MariaDB and Redis, calls 0x7A01 over TCP, reloads by SIGHUP and by dbproxyctl;
#  5. reinstalls, then upgrades, over an edited /etc/dbproxy/dbproxy.yaml: the edit is kept;
#  6. checks the .rpms: rpm -qlp, --scripts, --configfiles, install into a scratch root;
#  7. purges the .debs and checks nothing of ours is left outside /var/lib/dbproxy.
# Prints PASS/FAIL (and SKIP) per check, then "N passed, M failed"; exits 1 if any failed.
#
# Idempotent and self-cleaning: installed dbproxy/dbproxy-dev packages (say, left by an
# interrupted run) are purged first, and missing tools (file, python3, ...) installed; on
# exit it stops the daemon it started, purges the packages, drops its test database and
# Redis keys, and removes the dbproxy user and /var/lib/dbproxy if this script created them.
# The build tree is kept (a second run rebuilds only what changed).
#
# Environment:
#   DBPROXY_TEST_MYSQL_HOST/_PORT/_USER/_PASSWORD  MariaDB that may CREATE DATABASE (tools/test
#   DBPROXY_TEST_REDIS_PORT                        and Redis on 127.0.0.1     exports these)
#   DBPROXY_PKG_BUILD_DIR   build tree              (<repo>/build-pkg-ci)
#   DBPROXY_BUILD_JOBS      parallel build jobs     (2)
#   DBPROXY_PKG_KEEP=1      keep the work directory (configs, logs) and print its path
set -uo pipefail  # not -e: a failed check is recorded and the run goes on

DBPROXY_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
readonly DBPROXY_ROOT
readonly BUILD_DIR=${DBPROXY_PKG_BUILD_DIR:-$DBPROXY_ROOT/build-pkg-ci}
readonly JOBS=${DBPROXY_BUILD_JOBS:-2}
readonly WIRE_CALL=$DBPROXY_ROOT/tests/packaging/wire_call.py
readonly TEST_DB=dbproxy_pkgtest
readonly REDIS_DB=15  # dbproxy uses 1-5 and the C++ test harness 16 and up
readonly MARKERS=/var/tmp/dbproxy-pkgtest  # what this script created, across interrupted runs
readonly EXAMPLE_DOC=/usr/share/doc/dbproxy-dev/example

passed=0
failed=0
WORK=""
daemon_pid=""

# ---------------------------------------------------------------------------------------
# Reporting

pass() {
  printf 'PASS: %s\n' "$1"
  passed=$((passed + 1))
}

# fail <name> [detail lines...]
fail() {
  printf 'FAIL: %s\n' "$1"
  shift
  local line
  for line in "$@"; do printf '      %s\n' "$line"; done
  failed=$((failed + 1))
}

skip() {
  printf 'SKIP: %s\n' "$1"
}

# check <name> <command...>: PASS if the command exits 0. Its output goes to a log whose
# tail is shown on failure. Returns the command's success, so callers can stop early.
check() {
  local name=$1
  shift
  local log
  log="$WORK/logs/$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_' | cut -c1-80).log"
  if "$@" >"$log" 2>&1; then
    pass "$name"
    return 0
  fi
  fail "$name" "command: $*"
  tail -n 25 "$log" | sed 's/^/      | /'
  return 1
}

# expect_eq <name> <actual> <expected>
expect_eq() {
  if [[ $2 == "$3" ]]; then
    pass "$1"
  else
    fail "$1" "expected: $3" "actual:   $2"
  fi
}

# Stops the run after a failure that leaves nothing sensible to check.
give_up() {
  printf 'giving up: %s\n' "$1"
  exit 1  # the EXIT trap cleans up and prints the totals
}

log_step() {
  printf '==> %s\n' "$*"
}

# ---------------------------------------------------------------------------------------
# Environment and helpers

# shellcheck disable=SC2153  # DBPROXY_TEST_* come from the environment (preflight checks)
mysql_test() {
  MYSQL_PWD=$DBPROXY_TEST_MYSQL_PASSWORD mariadb --protocol=TCP -h "$DBPROXY_TEST_MYSQL_HOST" \
    -P "$DBPROXY_TEST_MYSQL_PORT" -u "$DBPROXY_TEST_MYSQL_USER" "$@"
}

redis_test() {
  redis-cli -h 127.0.0.1 -p "$DBPROXY_TEST_REDIS_PORT" -n "$REDIS_DB" "$@"
}

apt_quiet() {
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q "$@" </dev/null
}

package_installed() {
  # shellcheck disable=SC2016  # ${db:Status-Status} is dpkg-query's format
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

# Everything under the packages' own paths, for the leftover checks.
leftovers() {
  local p
  for p in /usr/bin/dbproxyd /usr/bin/dbproxyctl /usr/lib/dbproxy /etc/dbproxy /etc/default/dbproxy \
    /usr/include/dbproxy /lib/systemd/system/dbproxy.service /usr/lib/systemd/system/dbproxy.service \
    /etc/systemd/system/multi-user.target.wants/dbproxy.service /usr/share/dbproxy \
    /usr/share/doc/dbproxy /usr/share/doc/dbproxy-dev /var/lib/dbproxy/plugins-staged /var/log/dbproxy; do
    [[ -e $p || -L $p ]] && printf '%s\n' "$p"
  done
  find /usr/lib /usr/lib64 /usr/share/pkgconfig -maxdepth 4 \
    \( -name 'dbproxy-sdk*' -o -name 'dbproxy-proto.pc' -o -name 'libdbproxy_proto.so*' \) \
    2>/dev/null
  # Anything else named after us in the system trees (our build tree and state excepted).
  find /etc /usr /lib /opt /srv /var -xdev \
    \( -path /var/lib/dbproxy -o -path "$MARKERS" -o -path "$DBPROXY_ROOT" -o -path "$BUILD_DIR" \
    -o -path /var/tmp -o -path /var/cache/apt \) -prune -o -name '*dbproxy*' -print 2>/dev/null
}

# Purges our packages if installed (quietly; used before and after the run).
purge_packages() {
  if package_installed dbproxy || package_installed dbproxy-dev ||
    dpkg-query -W dbproxy >/dev/null 2>&1 || dpkg-query -W dbproxy-dev >/dev/null 2>&1; then
    apt_quiet purge -y dbproxy dbproxy-dev >/dev/null 2>&1 ||
      dpkg --purge dbproxy-dev dbproxy >/dev/null 2>&1 || true
  fi
}

stop_daemon() {
  [[ -n $daemon_pid ]] || return 0
  if kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null
    local i
    for ((i = 0; i < 150; i++)); do
      kill -0 "$daemon_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=""
}

cleanup() {
  local status=$?
  stop_daemon
  purge_packages
  if [[ -n ${DBPROXY_TEST_MYSQL_PORT:-} ]]; then
    mysql_test -e "DROP DATABASE IF EXISTS $TEST_DB" >/dev/null 2>&1 || true
  fi
  if [[ -n ${DBPROXY_TEST_REDIS_PORT:-} ]]; then
    redis_test DEL example_kv_1 example_kv_2 example_kv_reloaded_1 >/dev/null 2>&1 || true
  fi
  if [[ -f $MARKERS/user-created ]]; then
    userdel dbproxy >/dev/null 2>&1 || true
    groupdel dbproxy >/dev/null 2>&1 || true
  fi
  if [[ -f $MARKERS/state-created ]]; then
    rm -rf /var/lib/dbproxy
  fi
  rm -rf "$MARKERS"
  if [[ -n $WORK ]]; then
    if [[ ${DBPROXY_PKG_KEEP:-0} == 1 ]]; then
      printf 'work directory kept: %s\n' "$WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  if ((status != 0 && failed == 0)); then
    failed=$((failed + 1))  # given up, or interrupted, before a check could fail
  fi
  printf '%d passed, %d failed\n' "$passed" "$failed"
  if ((failed > 0)); then
    exit 1
  fi
  exit 0
}

# ---------------------------------------------------------------------------------------
# 0. Preconditions

preflight() {
  ((EUID == 0)) || give_up "run as root (installs packages)"
  local v
  for v in DBPROXY_TEST_MYSQL_HOST DBPROXY_TEST_MYSQL_PORT DBPROXY_TEST_MYSQL_USER \
    DBPROXY_TEST_MYSQL_PASSWORD DBPROXY_TEST_REDIS_PORT; do
    [[ -n ${!v:-} ]] || give_up "$v is not set (tools/test exports it)"
  done
  # The tools this script and cpack use, and the Debian packages that bring them.
  local -A tool_package=([cmake]=cmake [cpack]=cmake [dpkg-shlibdeps]=dpkg-dev [file]=file
    [rpm]=rpm [rpmbuild]=rpm [mariadb]=mariadb-client [redis-cli]=redis-tools [python3]=python3
    [pkg-config]=pkg-config [g++]=g++ [nm]=binutils [readelf]=binutils [setpriv]=util-linux)
  local tool missing=()
  for tool in "${!tool_package[@]}"; do
    command -v "$tool" >/dev/null || missing+=("${tool_package[$tool]}")
  done
  if ((${#missing[@]} > 0)); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    log_step "installing ${missing[*]}"
    apt_quiet install -y --no-install-recommends "${missing[@]}" >/dev/null ||
      { apt_quiet update >/dev/null && apt_quiet install -y --no-install-recommends "${missing[@]}"; } ||
      give_up "cannot install ${missing[*]}"
  fi

  # An earlier run killed outright may have left its daemon, packages, user or state.
  local old_pid
  old_pid=$(cat "$MARKERS/daemon.pid" 2>/dev/null)
  if [[ $old_pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$old_pid/cmdline" 2>/dev/null |
    grep -q 'dbproxyd -c /tmp/dbproxy-pkgtest\.'; then
    log_step "stopping dbproxyd (pid $old_pid) left by an earlier run"
    daemon_pid=$old_pid
    stop_daemon
  fi
  rm -f "$MARKERS/daemon.pid"
  local old_work
  old_work=$(cat "$MARKERS/work" 2>/dev/null)
  if [[ $old_work == /tmp/dbproxy-pkgtest.* && $old_work != "$WORK" ]]; then
    rm -rf "$old_work"
  fi
  if package_installed dbproxy || package_installed dbproxy-dev; then
    log_step "purging dbproxy packages left by an earlier run"
  fi
  purge_packages
  mkdir -p "$MARKERS"
  printf '%s\n' "$WORK" >"$MARKERS/work"
  if ! getent passwd dbproxy >/dev/null; then
    touch "$MARKERS/user-created"
  fi
  if [[ ! -e /var/lib/dbproxy ]]; then
    touch "$MARKERS/state-created"
  fi
  mysql_test -e 'SELECT 1' >/dev/null 2>&1 ||
    give_up "MariaDB at $DBPROXY_TEST_MYSQL_HOST:$DBPROXY_TEST_MYSQL_PORT does not answer"
  [[ $(redis_test PING 2>/dev/null) == PONG ]] ||
    give_up "Redis at 127.0.0.1:$DBPROXY_TEST_REDIS_PORT does not answer"
}

# ---------------------------------------------------------------------------------------
# 1. Build

VERSION=""
ARCH=""
DEB_RUNTIME=""
DEB_DEV=""
RPM_RUNTIME=""
RPM_DEV=""

build_packages() {
  log_step "building packages in $BUILD_DIR"
  check "configure the package build (Release, prefix /usr)" \
    cmake -S "$DBPROXY_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX=/usr -DDBPROXY_BUILD_TESTS=OFF || give_up "configure failed"
  check "build daemon, tools and modules" cmake --build "$BUILD_DIR" -j"$JOBS" ||
    give_up "build failed"
  rm -f "$BUILD_DIR"/packages/*.deb "$BUILD_DIR"/packages/*.rpm
  check 'cpack -G "DEB;RPM"' cpack -G "DEB;RPM" --config "$BUILD_DIR/CPackConfig.cmake" ||
    give_up "cpack failed"

  VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD_DIR/CMakeCache.txt")
  ARCH=$(dpkg --print-architecture)
  local rpm_arch
  rpm_arch=$(uname -m)
  DEB_RUNTIME=$BUILD_DIR/packages/dbproxy_${VERSION}_${ARCH}.deb
  DEB_DEV=$BUILD_DIR/packages/dbproxy-dev_${VERSION}_${ARCH}.deb
  RPM_RUNTIME=$BUILD_DIR/packages/dbproxy-${VERSION}-1.${rpm_arch}.rpm
  RPM_DEV=$BUILD_DIR/packages/dbproxy-dev-${VERSION}-1.${rpm_arch}.rpm
  local f missing=()
  for f in "$DEB_RUNTIME" "$DEB_DEV" "$RPM_RUNTIME" "$RPM_DEV"; do
    [[ -f $f ]] || missing+=("$f")
  done
  if ((${#missing[@]} == 0)); then
    pass "four packages named after version $VERSION"
  else
    fail "four packages named after version $VERSION" "missing: ${missing[*]}" \
      "present: $(ls "$BUILD_DIR/packages")"
    give_up "packages missing"
  fi
}

# ---------------------------------------------------------------------------------------
# 2. Install the .debs

inspect_debs() {
  local depends
  depends=$(dpkg-deb -f "$DEB_RUNTIME" Depends)
  if [[ $depends == *adduser* && $depends == *libc6* && $depends == *libuv1* &&
    $depends == *libmariadb3* && $depends == *libhiredis* ]]; then
    pass "dbproxy Depends: adduser plus the shared libraries (dpkg-shlibdeps)"
  else
    fail "dbproxy Depends: adduser plus the shared libraries (dpkg-shlibdeps)" "Depends: $depends"
  fi
  expect_eq "dbproxy-dev depends on dbproxy of the same version" \
    "$(dpkg-deb -f "$DEB_DEV" Depends)" "dbproxy (= $VERSION)"
  expect_eq "dbproxy conffiles" "$(dpkg-deb -I "$DEB_RUNTIME" conffiles 2>&1 | tr '\n' ' ')" \
    "/etc/dbproxy/dbproxy.yaml /etc/default/dbproxy "
}

install_debs() {
  log_step "installing the .debs with apt"
  check "apt-get install ./dbproxy_*.deb ./dbproxy-dev_*.deb" \
    apt_quiet install -y "$DEB_RUNTIME" "$DEB_DEV" || give_up "packages did not install"
  if package_installed dbproxy && package_installed dbproxy-dev; then
    pass "dbproxy and dbproxy-dev are installed"
  else
    fail "dbproxy and dbproxy-dev are installed" "$(dpkg -l 'dbproxy*' 2>&1 | tail -n 3)"
  fi

  local pw
  pw=$(getent passwd dbproxy)
  IFS=: read -r _ _ uid _ _ home shell <<<"$pw"
  if [[ -n $pw && $uid -lt 1000 && $home == /var/lib/dbproxy && $shell == */nologin ]]; then
    pass "system user dbproxy (uid $uid, home /var/lib/dbproxy, no login)"
  else
    fail "system user dbproxy" "passwd entry: ${pw:-none}"
  fi
  expect_eq "/var/lib/dbproxy is dbproxy:dbproxy 750" \
    "$(stat -c '%U:%G %a' /var/lib/dbproxy 2>&1)" "dbproxy:dbproxy 750"
  expect_eq "/etc/default/dbproxy is root-only (600)" \
    "$(stat -c '%U %a' /etc/default/dbproxy 2>&1)" "root 600"
  expect_eq "dbproxyd --version" "$(/usr/bin/dbproxyd --version 2>&1 | cut -d' ' -f1-2)" \
    "dbproxyd $VERSION"

  local f unresolved=()
  for f in /usr/bin/dbproxyd /usr/bin/dbproxyctl /usr/lib/dbproxy/plugins/*.so; do
    if [[ ! -e $f ]] || ldd "$f" 2>&1 | grep -q 'not found'; then
      unresolved+=("$f: $(ldd "$f" 2>&1 | grep 'not found' | tr -s ' \t' ' ')")
    fi
  done
  if ((${#unresolved[@]} == 0)); then
    pass "ldd: every installed program and module finds its libraries"
  else
    fail "ldd: every installed program and module finds its libraries" "${unresolved[@]}"
  fi

  local unit=/lib/systemd/system/dbproxy.service
  local want missing=()
  # shellcheck disable=SC2016  # $MAINPID is systemd's, literally
  for want in 'Type=simple' 'User=dbproxy' 'Group=dbproxy' \
    'ExecStart=/usr/bin/dbproxyd -c /etc/dbproxy/dbproxy.yaml' \
    'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure' 'NoNewPrivileges=yes' \
    'ProtectSystem=strict' 'PrivateTmp=yes' 'ProtectHome=yes' 'RuntimeDirectory=dbproxy' \
    'StateDirectory=dbproxy' 'EnvironmentFile=-/etc/default/dbproxy'; do
    grep -qxF -- "$want" "$unit" 2>/dev/null || missing+=("$want")
  done
  if ((${#missing[@]} == 0)); then
    pass "dbproxy.service has the service settings"
  else
    fail "dbproxy.service has the service settings" "missing: ${missing[*]}"
  fi
  # Required, not skipped: tools/lib/services.sh installs systemd (systemd-analyze).
  if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze verify dbproxy.service" systemd-analyze verify "$unit"
  else
    fail "systemd-analyze verify dbproxy.service" "systemd-analyze not installed (package systemd)"
  fi
}

check_configs() {
  check "dbproxyd --check-config -c /etc/dbproxy/dbproxy.yaml" \
    /usr/bin/dbproxyd --check-config -c /etc/dbproxy/dbproxy.yaml

  # The shipped file with every installed module enabled: each one loads with a good ABI.
  local modules
  modules=$(find /usr/lib/dbproxy/plugins -maxdepth 1 -name '*.so' -printf '%f\n' |
    sed 's/\.so$//' | sort | paste -sd, -)
  if [[ -z $modules ]]; then
    fail "the packaged modules pass --check-config" "no modules in /usr/lib/dbproxy/plugins"
    return
  fi
  if ! grep -q '^  enabled: \[.*\]$' /etc/dbproxy/dbproxy.yaml; then
    skip "the packaged modules pass --check-config (plugins.enabled is not a one-line list)"
    return
  fi
  sed "s/^  enabled: \[.*\]$/  enabled: [${modules}]/" /etc/dbproxy/dbproxy.yaml \
    >"$WORK/all-modules.yaml"
  check "the packaged modules ($modules) pass --check-config" \
    /usr/bin/dbproxyd --check-config -c "$WORK/all-modules.yaml"
}

# The installed alert rules pass promtool (syntax and their own unit tests); the installed
# Grafana dashboard is JSON.
check_monitoring() {
  local rules=/usr/share/dbproxy/prometheus dash=/usr/share/dbproxy/grafana/dbproxy-dashboard.json
  check "installed $dash is valid JSON" python3 -m json.tool "$dash"
  if ! command -v promtool >/dev/null; then
    skip "promtool check/test rules on $rules (promtool not installed)"
    return
  fi
  check "promtool check rules $rules/dbproxy.rules.yml" promtool check rules "$rules/dbproxy.rules.yml"
  check "promtool test rules $rules/dbproxy.rules.test.yml" \
    bash -c "cd '$rules' && promtool test rules dbproxy.rules.test.yml"
}

# ---------------------------------------------------------------------------------------
# 3. Plugins built against the installed SDK

EXAMPLE_BUILD=""

build_example() {
  log_step "building the example plugin out of tree from $EXAMPLE_DOC"
  EXAMPLE_BUILD=$WORK/example-build
  # No package registry and no prefix path: only what the packages put in /usr is found.
  check "example: cmake configure against the installed SDK" \
    env -u CMAKE_PREFIX_PATH cmake -S "$EXAMPLE_DOC" -B "$EXAMPLE_BUILD" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-Werror \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF ||
    return 1
  check "example: build example_kv.so (warnings are errors)" \
    cmake --build "$EXAMPLE_BUILD" -j"$JOBS" || return 1
  expect_eq "example: dbproxy-sdk came from the package" \
    "$(sed -n 's/^dbproxy-sdk_DIR:PATH=//p' "$EXAMPLE_BUILD/CMakeCache.txt")" \
    "$(dirname "$(dpkg -L dbproxy-dev | grep '/dbproxy-sdkConfig.cmake$')")"
  if grep -rqsF -- "$DBPROXY_ROOT" "$EXAMPLE_BUILD"; then
    fail "example: the build never refers to the source tree" \
      "$(grep -rlsF -- "$DBPROXY_ROOT" "$EXAMPLE_BUILD" | head -n 3)"
  else
    pass "example: the build never refers to the source tree"
  fi
  local so=$EXAMPLE_BUILD/example_kv.so
  expect_eq "example: exports only dbp_plugin_entry" \
    "$(nm -D --defined-only "$so" 2>&1 | awk '{print $NF}' | tr '\n' ' ')" "dbp_plugin_entry "
  expect_eq "example: no STB_GNU_UNIQUE symbols (dlclose stays effective)" \
    "$(readelf -sW "$so" | grep -c UNIQUE)" "0"
}

# The flags come from pkg-config and are meant to be split into words.
# shellcheck disable=SC2046
pkg_config_build() {
  local out=$WORK/pkgconfig-build
  mkdir -p "$out" &&
    g++ -std=c++20 -O2 -Wall -Werror $(pkg-config --cflags dbproxy-sdk) \
      $(pkg-config --variable=plugin_cflags dbproxy-sdk) -c "$EXAMPLE_DOC/example_kv.cc" \
      -o "$out/example_kv.o" &&
    g++ -o "$out/example_kv.so" "$out/example_kv.o" \
      $(pkg-config --variable=plugin_ldflags dbproxy-sdk) &&
    [[ $(nm -D --defined-only "$out/example_kv.so" | awk '{print $NF}') == dbp_plugin_entry ]]
}

build_with_pkg_config() {
  check "pkg-config dbproxy-sdk: compile and link the example without CMake" pkg_config_build
}

# A plugin that decodes TeamTalk messages: find_package(... COMPONENTS proto) and the
# installed generated headers, linked against the daemon's libdbproxy_proto.so.
build_proto_consumer() {
  local src=$WORK/proto-plugin
  mkdir -p "$src"
  cat >"$src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.17)
project(proto_probe LANGUAGES CXX)
find_package(dbproxy-sdk REQUIRED COMPONENTS proto)
dbproxy_sdk_add_plugin(proto_probe SOURCES proto_probe.cc LIBS dbproxy::proto)
EOF
  cat >"$src/proto_probe.cc" <<'EOF'
#include "IM.Other.pb.h"
#include "dbproxy/sdk.h"

namespace {
class ProtoProbe : public dbproxy::sdk::Plugin {
 public:
  dbproxy::sdk::Status Init(dbproxy::sdk::Host& host) override {
    return host.RegisterCommand(0x7A11, [](dbproxy::sdk::Request& r) {
      IM::Other::IMHeartBeat beat;
      (void)r.ReplyMessage(7, 0x7A12, beat);
    });
  }
};
}  // namespace

DBP_PLUGIN("proto_probe", "1.0", DBP_PLUGIN_RELOADABLE, ProtoProbe)
EOF
  check "dbproxy::proto: a plugin using the installed TeamTalk headers builds" \
    build_and_ldd "$src" proto_probe.so
}

# build_and_ldd <source dir> <output>: configures, builds, and checks the output finds
# libdbproxy_proto.so.
build_and_ldd() {
  cmake -S "$1" -B "$1/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF &&
    cmake --build "$1/build" &&
    ldd "$1/build/$2" | grep 'libdbproxy_proto.so => /'
}

# ---------------------------------------------------------------------------------------
# 4. The installed daemon with the example plugin

DAEMON_PORT=""
ADMIN_SOCKET=""

write_daemon_config() {
  local module_section=$1
  local pool redis_block=""
  for pool in unread group_set sync token group_member; do
    redis_block+="  $pool: { host: 127.0.0.1, port: $DBPROXY_TEST_REDIS_PORT, db: $REDIS_DB, pool_size: 2 }"$'\n'
  done
  local mysql_pool="{ host: \"$DBPROXY_TEST_MYSQL_HOST\", port: $DBPROXY_TEST_MYSQL_PORT, user: \"$DBPROXY_TEST_MYSQL_USER\", password_env: DBPROXY_MYSQL_PASSWORD, database: $TEST_DB, pool_size: 2 }"
  cat >"$WORK/run/dbproxy.yaml.tmp" <<EOF
# Written by tests/packaging/run.sh
server:
  listen: ["127.0.0.1:0"]
  workers: 2
mysql:
  teamtalk_master: $mysql_pool
  teamtalk_slave: $mysql_pool
redis:
${redis_block}plugins:
  directory: "$EXAMPLE_BUILD"
  enabled: [example_kv]
  modules:
$module_section
log:
  level: info
admin:
  socket: "$ADMIN_SOCKET"
EOF
  # rename: the daemon never reads a half-written file on reload
  mv "$WORK/run/dbproxy.yaml.tmp" "$WORK/run/dbproxy.yaml"
}

# call <body> -> prints "0xSSSS 0xCCCC body" of the reply to 0x7A01
call() {
  python3 "$WIRE_CALL" "$DAEMON_PORT" 0x7a01 "$1" 2>&1
}

ctl() {
  /usr/bin/dbproxyctl --socket "$ADMIN_SOCKET" --json "$@" 2>&1
}

# json_get <json> <python expression over d>
json_get() {
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2" \
    2>/dev/null
}

# Waits until `dbproxyctl status` reports a generation above $1; prints the status JSON.
wait_for_generation_above() {
  local old=$1 i status gen
  for ((i = 0; i < 200; i++)); do
    status=$(ctl status)
    gen=$(json_get "$status" 'd["status"]["generation"]')
    if [[ $gen =~ ^[0-9]+$ ]] && ((gen > old)); then
      printf '%s\n' "$status"
      return 0
    fi
    sleep 0.1
  done
  printf '%s\n' "$status"
  return 1
}

# The test database from the installed schema and demo data (user 1 has nick "nick1").
load_test_database() {
  mysql_test -e "DROP DATABASE IF EXISTS $TEST_DB; CREATE DATABASE $TEST_DB CHARACTER SET utf8mb4" &&
    mysql_test "$TEST_DB" </usr/share/dbproxy/schema.sql &&
    { echo 'SET autocommit=0;'; cat /usr/share/dbproxy/demo_data.sql; echo 'COMMIT;'; } |
    mysql_test "$TEST_DB"
}

run_daemon() {
  log_step "running the installed dbproxyd with example_kv as user dbproxy"
  [[ -f $EXAMPLE_BUILD/example_kv.so ]] || {
    fail "installed dbproxyd serves example_kv" "example_kv.so was not built"
    return
  }
  if ! check "load /usr/share/dbproxy/schema.sql and demo_data.sql into $TEST_DB" \
    load_test_database; then
    return
  fi
  redis_test DEL example_kv_1 example_kv_2 example_kv_reloaded_1 >/dev/null
  redis_test HSET example_kv_2 not a-counter >/dev/null  # INCR on it fails with WRONGTYPE

  # The daemon runs as dbproxy: it must reach the example build (world-readable) and write
  # only its run directory and its default staging directory /var/lib/dbproxy/plugins-staged.
  mkdir -p "$WORK/run"
  chown dbproxy:dbproxy "$WORK/run"
  chmod 755 "$WORK"
  ADMIN_SOCKET=$WORK/run/admin.sock
  write_daemon_config "    example_kv: {}"
  setpriv --reuid=dbproxy --regid=dbproxy --init-groups -- \
    env -i PATH=/usr/bin:/bin DBPROXY_MYSQL_PASSWORD="$DBPROXY_TEST_MYSQL_PASSWORD" \
    /usr/bin/dbproxyd -c "$WORK/run/dbproxy.yaml" --ready-file "$WORK/run/ready" \
    </dev/null >"$WORK/logs/dbproxyd.log" 2>&1 &
  daemon_pid=$!
  printf '%s\n' "$daemon_pid" >"$MARKERS/daemon.pid"
  local i
  for ((i = 0; i < 300; i++)); do
    [[ -f $WORK/run/ready ]] && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  DAEMON_PORT=$(sed -n 's/^listen .*:\([0-9]*\)$/\1/p' "$WORK/run/ready" 2>/dev/null | head -n 1)
  if [[ -z $DAEMON_PORT ]]; then
    fail "installed dbproxyd starts as user dbproxy with example_kv" \
      "$(tail -n 20 "$WORK/logs/dbproxyd.log")"
    stop_daemon
    return
  fi
  pass "installed dbproxyd starts as user dbproxy with example_kv (port $DAEMON_PORT)"
  expect_eq "daemon runs as dbproxy" "$(ps -o user= -p "$daemon_pid" | tr -d ' ')" "dbproxy"

  expect_eq "0x7A01 '1' -> nick and first count" "$(call 1)" "0x0007 0x7a02 nick1:1"
  expect_eq "0x7A01 '1' again -> count 2" "$(call 1)" "0x0007 0x7a02 nick1:2"
  expect_eq "Redis unread holds example_kv_1 = 2" "$(redis_test GET example_kv_1)" "2"
  expect_eq "0x7A01 unknown user -> error:not-found" "$(call 999999)" \
    "0x0007 0x7a02 error:not-found"
  expect_eq "0x7A01 bad body -> error:bad-request" "$(call abc)" \
    "0x0007 0x7a02 error:bad-request"
  expect_eq "0x7A01 on a key that is not a counter -> error:redis" "$(call 2)" \
    "0x0007 0x7a02 error:redis"

  local modules staged
  modules=$(ctl modules)
  staged=$(json_get "$modules" '[m["staged_path"] for m in d["modules"] if m["name"]=="example_kv"][0]')
  if [[ $staged == /var/lib/dbproxy/plugins-staged/* && -f $staged ]]; then
    pass "dbproxyctl modules: example_kv loaded from a staged copy in /var/lib/dbproxy"
  else
    fail "dbproxyctl modules: example_kv loaded from a staged copy in /var/lib/dbproxy" \
      "modules: $modules"
  fi

  # Reload by SIGHUP (what `systemctl reload dbproxy` sends) with a new key_prefix.
  local status gen
  status=$(ctl status)
  gen=$(json_get "$status" 'd["status"]["generation"]')
  write_daemon_config "    example_kv: { key_prefix: example_kv_reloaded_ }"
  kill -HUP "$daemon_pid"
  if status=$(wait_for_generation_above "${gen:-0}") &&
    [[ $(json_get "$status" 'd["status"]["last_reload_successful"]') == 1 ]]; then
    pass "SIGHUP reload applied (generation ${gen} -> $(json_get "$status" 'd["status"]["generation"]'))"
  else
    fail "SIGHUP reload applied" "status: $status" "$(tail -n 5 "$WORK/logs/dbproxyd.log")"
  fi
  expect_eq "after SIGHUP the new key_prefix counts from 1" "$(call 1)" "0x0007 0x7a02 nick1:1"

  # A reload with an unknown module key is refused and the running generation keeps serving.
  write_daemon_config "    example_kv: { key_prefix: example_kv_reloaded_, no_such_key: 1 }"
  local answer rc
  answer=$(ctl reload)
  rc=$?
  if ((rc == 1)) && [[ $(json_get "$answer" 'd["ok"]') == False && $answer == *no_such_key* ]]; then
    pass "dbproxyctl reload refuses an unknown module key (exit 1, names the key)"
  else
    fail "dbproxyctl reload refuses an unknown module key (exit 1, names the key)" \
      "exit $rc: $answer"
  fi
  expect_eq "the old generation still serves after the refused reload" "$(call 1)" \
    "0x0007 0x7a02 nick1:2"
  write_daemon_config "    example_kv: { key_prefix: example_kv_reloaded_ }"
  answer=$(ctl reload)
  rc=$?
  if ((rc == 0)) && [[ $(json_get "$answer" 'd["ok"]') == True ]]; then
    pass "dbproxyctl reload with the fixed file succeeds"
  else
    fail "dbproxyctl reload with the fixed file succeeds" "exit $rc: $answer"
  fi

  kill -TERM "$daemon_pid"
  local exit_status=0
  wait "$daemon_pid" || exit_status=$?
  daemon_pid=""
  expect_eq "SIGTERM: dbproxyd drains and exits 0" "$exit_status" "0"
}

# ---------------------------------------------------------------------------------------
# 5. Conffile handling

# repack_newer <tree> <output .deb>: the runtime package as version <VERSION>+pkgtest1
# whose shipped dbproxy.yaml differs from the installed one.
repack_newer() {
  local tree=$1
  rm -rf "$tree" &&
    dpkg-deb -R "$DEB_RUNTIME" "$tree" &&
    sed -i "s/^Version: .*/Version: ${VERSION}+pkgtest1/" "$tree/DEBIAN/control" &&
    printf '# shipped by %s\n' "${VERSION}+pkgtest1" >>"$tree/etc/dbproxy/dbproxy.yaml" &&
    (cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | xargs -0 md5sum) \
      >"$tree/DEBIAN/md5sums" &&
    dpkg-deb --root-owner-group -b "$tree" "$2"
}

check_conffile_kept() {
  log_step "reinstalling and upgrading over an edited /etc/dbproxy/dbproxy.yaml"
  local marker="# edited by tests/packaging/run.sh $$"
  printf '%s\n' "$marker" >>/etc/dbproxy/dbproxy.yaml
  check "dpkg -i --force-confold (same version) over the edited config" \
    dpkg -i --force-confold "$DEB_RUNTIME"
  if grep -qxF -- "$marker" /etc/dbproxy/dbproxy.yaml; then
    pass "reinstall kept the edited /etc/dbproxy/dbproxy.yaml"
  else
    fail "reinstall kept the edited /etc/dbproxy/dbproxy.yaml"
  fi

  # An upgrade whose shipped dbproxy.yaml changed: the admin's file stays, the package's
  # version lands beside it as .dpkg-dist. The newer package is this one, repacked.
  local newer=$WORK/dbproxy_${VERSION}+pkgtest1_${ARCH}.deb
  if ! check "repack dbproxy as version ${VERSION}+pkgtest1 with a changed dbproxy.yaml" \
    repack_newer "$WORK/upgrade-deb" "$newer"; then
    return
  fi
  check "upgrade with dpkg -i --force-confold" dpkg -i --force-confold "$newer"
  if grep -qxF -- "$marker" /etc/dbproxy/dbproxy.yaml &&
    grep -qF "# shipped by ${VERSION}+pkgtest1" /etc/dbproxy/dbproxy.yaml.dpkg-dist 2>/dev/null; then
    pass "upgrade kept the edited config and put the new one in dbproxy.yaml.dpkg-dist"
  else
    fail "upgrade kept the edited config and put the new one in dbproxy.yaml.dpkg-dist" \
      "$(find /etc/dbproxy -maxdepth 1 -printf '%f ' 2>&1)"
  fi
  expect_eq "upgraded version" "$(dpkg-query -W -f='${Version}' dbproxy)" "${VERSION}+pkgtest1"
}

# ---------------------------------------------------------------------------------------
# 6. The .rpms

# Regular files and symlinks of a package, one path a line, sorted.
deb_files() {
  dpkg-deb -c "$1" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort
}
rpm_files() {
  rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$1" 2>/dev/null |
    awk '$1 !~ /^d/ {print $2}' | sort
}

# Into a scratch root: no scripts (there is no shell in it) and no dependency checks.
rpm_scratch_install() {
  rpm --root "$1" --dbpath /var/lib/rpm --initdb &&
    rpm --root "$1" --dbpath /var/lib/rpm --nodeps --noscripts -i "$RPM_RUNTIME" "$RPM_DEV"
}

check_rpms() {
  log_step "checking the .rpms"
  local name deb rpmf
  for name in dbproxy dbproxy-dev; do
    if [[ $name == dbproxy ]]; then deb=$DEB_RUNTIME rpmf=$RPM_RUNTIME; else deb=$DEB_DEV rpmf=$RPM_DEV; fi
    check "rpm -qlp $name lists files" rpm -qlp "$rpmf"
    local diff_out
    if diff_out=$(diff <(deb_files "$deb") <(rpm_files "$rpmf")); then
      pass "$name: the .rpm and the .deb hold the same files"
    else
      fail "$name: the .rpm and the .deb hold the same files" "$(printf '%s\n' "$diff_out" | head -n 10)"
    fi
  done
  expect_eq "rpm %config(noreplace) files" \
    "$(rpm -qp --configfiles "$RPM_RUNTIME" 2>/dev/null | tr '\n' ' ')" \
    "/etc/dbproxy/dbproxy.yaml /etc/default/dbproxy "
  local scripts
  scripts=$(rpm -qp --scripts "$RPM_RUNTIME" 2>/dev/null)
  if [[ $scripts == *'preinstall scriptlet'*useradd\ -r* && $scripts == *'postinstall scriptlet'* &&
    $scripts == *'preuninstall scriptlet'*'systemctl stop'* &&
    $scripts == *'postuninstall scriptlet'*try-restart* && $scripts == *'[ -d /run/systemd/system ]'* ]]; then
    pass "rpm -qp --scripts: %pre useradd, %preun stop, %postun try-restart, systemd guarded"
  else
    fail "rpm -qp --scripts: %pre useradd, %preun stop, %postun try-restart, systemd guarded" \
      "$(printf '%s\n' "$scripts" | head -n 20)"
  fi
  if rpm -qp --requires "$RPM_DEV" 2>/dev/null | grep -qxF "dbproxy = $VERSION"; then
    pass "dbproxy-dev.rpm requires dbproxy = $VERSION"
  else
    fail "dbproxy-dev.rpm requires dbproxy = $VERSION" "$(rpm -qp --requires "$RPM_DEV" 2>&1)"
  fi

  local root=$WORK/rpmroot
  rm -rf "$root"
  mkdir -p "$root"
  check "rpm --root DIR --nodeps -i both packages" rpm_scratch_install "$root"
  check "scratch root: rpm -V finds every file intact" \
    rpm --root "$root" --dbpath /var/lib/rpm -V --nodeps dbproxy dbproxy-dev
  local f missing=()
  for f in /usr/bin/dbproxyd /usr/bin/dbproxyctl /etc/dbproxy/dbproxy.yaml \
    /lib/systemd/system/dbproxy.service /usr/include/dbproxy/abi.h /usr/share/dbproxy/schema.sql \
    /usr/share/dbproxy/prometheus/dbproxy.rules.yml /usr/share/dbproxy/grafana/dbproxy-dashboard.json; do
    [[ -f $root$f ]] || missing+=("$f")
  done
  if ((${#missing[@]} == 0)); then
    pass "scratch root holds the daemon, config, unit, SDK and schema"
  else
    fail "scratch root holds the daemon, config, unit, SDK and schema" "missing: ${missing[*]}"
  fi
}

# ---------------------------------------------------------------------------------------
# 7. Purge

check_purge() {
  log_step "purging the .debs"
  check "apt-get purge -y dbproxy dbproxy-dev" apt_quiet purge -y dbproxy dbproxy-dev
  local left=()
  mapfile -t left < <(leftovers)
  if ((${#left[@]} == 0)); then
    pass "purge left nothing of ours outside /var/lib/dbproxy"
  else
    fail "purge left nothing of ours outside /var/lib/dbproxy" "${left[@]}"
  fi
  if [[ -d /var/lib/dbproxy ]]; then
    pass "purge kept /var/lib/dbproxy (data is never deleted)"
  else
    fail "purge kept /var/lib/dbproxy (data is never deleted)"
  fi
}

# ---------------------------------------------------------------------------------------

main() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  WORK=$(mktemp -d /tmp/dbproxy-pkgtest.XXXXXX)
  mkdir -p "$WORK/logs"
  preflight
  build_packages
  inspect_debs
  install_debs
  check_configs
  check_monitoring
  build_example
  build_with_pkg_config
  build_proto_consumer
  run_daemon
  check_conffile_kept
  check_rpms
  check_purge
}

main "$@"
