#!/usr/bin/env bash
# Throwaway S3-compatible server for tests: a single-node Ceph cluster
# (1 mon + 1 memstore OSD, no mgr, cephx off) with radosgw on 127.0.0.1.
#
#   bash scripts/s3-server.sh start    # install packages if missing, start, print env
#   bash scripts/s3-server.sh env      # print `export S3_...` lines (eval-able)
#   bash scripts/s3-server.sh status   # exit 0 if running and answering
#   bash scripts/s3-server.sh stop     # kill by PID, wait, delete the state dir
#
#   eval "$(bash scripts/s3-server.sh start)"
#
# Needs root on Debian 12 (bookworm, radosgw 16.2.x). See scripts/README-s3-server.md.
set -euo pipefail

DIR=${S3_SERVER_DIR:-/tmp/s3-scheduler-rgw}
PORT=${S3_PORT:-7480}
MON_PORT=${S3_MON_PORT:-3300}
START_TIMEOUT=${S3_START_TIMEOUT:-120}
ACCESS_KEY=s3scheduler
SECRET_KEY=s3scheduler-secret
REGION=us-east-1
BUCKET=s3-scheduler-test
ENDPOINT="http://127.0.0.1:${PORT}"
DAEMONS=(mon osd rgw)
MARKER=.s3-scheduler-rgw       # only a directory holding this file is ever deleted
PACKAGES=(ceph-common ceph-mon ceph-osd radosgw curl)

now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((t / 1000)); }   # bash >= 5
T0=$(now_ms)
log() {
  local ms=$(($(now_ms) - T0))
  printf '[s3-server +%d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*" >&2
}
die() { log "ERROR: $*"; exit 1; }

case $DIR in /*) ;; *) die "S3_SERVER_DIR must be an absolute path (it is written into ceph.conf): $DIR" ;; esac
[[ $DIR != / ]] || die "refusing to use / as S3_SERVER_DIR"

# Process name (as in /proc/PID/comm) of each daemon, to avoid acting on recycled PIDs.
comm_of() { case $1 in mon) echo ceph-mon ;; osd) echo ceph-osd ;; rgw) echo radosgw ;; esac; }

# Print the PID of daemon $1 if its pid file exists and the process is alive and is that daemon.
live_pid() {
  local f="$DIR/$1.pid" pid comm
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  pid_running "$pid" || return 1
  [[ $comm == "$(comm_of "$1")"* ]] || return 1
  echo "$pid"
}

# True while PID exists and is not a zombie. Daemons outlive this script and get reparented; a
# slow reaper (some container inits) can leave them as zombies for a while after they exited.
pid_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

endpoint_answers() { curl -s -o /dev/null --max-time 2 "$ENDPOINT/"; }

all_running() {
  local d
  for d in "${DAEMONS[@]}"; do live_pid "$d" >/dev/null || return 1; done
  endpoint_answers
}

print_env() {
  cat <<EOF
export S3_ENDPOINT=$ENDPOINT
export S3_ACCESS_KEY_ID=$ACCESS_KEY
export S3_SECRET_ACCESS_KEY=$SECRET_KEY
export S3_REGION=$REGION
export S3_BUCKET=$BUCKET
EOF
}

show_logs() {
  local f
  for f in "$DIR"/log/*; do
    [[ -f $f ]] || continue
    echo "----- tail -n 25 $f -----" >&2
    tail -n 25 "$f" >&2 || true
  done
}

ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "packages present: radosgw $(dpkg-query -W -f='${Version}' radosgw)"
    return
  fi
  [[ $(id -u) == 0 ]] || die "need root to install: ${missing[*]}"
  log "installing ${missing[*]} (apt-get)"
  local t=$SECONDS out
  out=$(mktemp /tmp/s3-server-apt.XXXXXX)
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } \
    >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    die "apt-get failed (full output in $out)"
  fi
  rm -f "$out"
  log "apt-get took $((SECONDS - t))s"
}

# TERM the given daemons by PID, wait up to 20 s for all of them to exit, then KILL leftovers.
stop_daemons() {
  local d pid pids=() i
  for d in "$@"; do
    if pid=$(live_pid "$d"); then
      log "stopping $d (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$DIR/$d.pid"
  done
  ((${#pids[@]})) || return 0
  any_alive() { local p; for p in "${pids[@]}"; do pid_running "$p" && return 0; done; return 1; }
  for ((i = 0; i < 200; i++)); do any_alive || return 0; sleep 0.1; done
  log "still running after 20s, sending KILL to ${pids[*]}"
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do any_alive || return 0; sleep 0.1; done
  die "could not kill ${pids[*]}"
}

cmd_stop() {
  if [[ ! -d $DIR ]]; then
    log "not running (no $DIR)"
    return 0
  fi
  # One at a time, in this order. Stopping rgw and osd together can hang (rgw waits on the
  # OSD for its watch teardown), and an OSD whose mon is already gone waits 5 s before exiting.
  stop_daemons rgw
  stop_daemons osd
  stop_daemons mon
  if [[ -e $DIR/$MARKER ]]; then
    rm -rf "$DIR"
    log "stopped, removed $DIR"
  else
    log "stopped; NOT removing $DIR (no $MARKER marker, not created by this script)"
  fi
}

write_conf() {
  local fsid=$1
  # Notes:
  # - cephx is off, but radosgw (Pacific) forces ms_mon_client_mode=secure, which cannot work
  #   without cephx (endless "get_initial_auth_request returned -13"); allow crc for clients.
  # - PG counts must be tiny or radosgw's pool creation fails on a single OSD.
  # - Each monitor update waits for the paxos propose interval (default 1 s); radosgw's first
  #   start issues ~12 pool/osdmap updates, so a short interval cuts start-up by ~10 s.
  # - "cluster addr" too, or the OSD binds its cluster/heartbeat-back ports on 0.0.0.0.
  # - memstore keeps everything in RAM; the cap below is a ceiling, not a reservation.
  cat >"$DIR/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
paxos propose interval = 0.05
paxos min wait = 0.01
osd crush chooseleaf type = 0
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
keyring = $DIR/keyring
[mon]
mon data = $DIR/mon.\$id
mon cluster log file = $DIR/log/cluster.log
[osd]
osd data = $DIR/osd\$id
osd objectstore = memstore
memstore device bytes = 1073741824
[client]
ms mon client mode = crc secure
[client.admin]
admin socket =
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
rgw thread pool size = 64
rgw enable usage log = false
CONF
}

# Start a daemon in the foreground (-f) in the background, so $! is the daemon's PID.
spawn() {
  local name=$1; shift
  "$@" -f </dev/null >"$DIR/log/$name.out" 2>&1 &
  echo $! >"$DIR/$name.pid"
  log "started $name (pid $!)"
}

# Fail if any daemon started so far has died.
check_alive() {
  local d
  for d in "$@"; do
    live_pid "$d" >/dev/null || { show_logs; die "$d exited during start-up (logs above, state in $DIR)"; }
  done
}

# On a failed start, don't leave orphaned daemons behind; keep the logs for inspection.
on_start_exit() {
  local rc=$?
  ((rc != 0)) || return 0
  stop_daemons rgw osd mon 2>/dev/null || true
  log "start failed; daemons stopped, logs kept in $DIR/log (\`$0 stop\` deletes them)"
  exit "$rc"
}

cmd_start() {
  if [[ -d $DIR ]] && all_running; then
    log "already running at $ENDPOINT"
    print_env
    return 0
  fi
  if [[ -d $DIR ]]; then
    log "stale state in $DIR, cleaning up"
    cmd_stop
    [[ ! -e $DIR ]] || die "$DIR exists and was not created by this script; remove it or set S3_SERVER_DIR"
  fi
  ensure_packages
  local port
  for port in "$PORT" "$MON_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "127.0.0.1:$port is already in use (set S3_PORT / S3_MON_PORT)"
    fi
  done

  T0=$(now_ms)   # time the start proper separately from apt
  log "state dir $DIR, S3 port $PORT, mon port $MON_PORT"
  mkdir -p "$DIR"/{run,log,mon.a,osd0,rgw}
  touch "$DIR/$MARKER"
  trap on_start_exit EXIT
  local fsid C
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"
  C=(-c "$DIR/ceph.conf")

  log "creating mon"
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon "${C[@]}" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" >"$DIR/log/mon-mkfs.out" 2>&1 \
    || { show_logs; die "ceph-mon --mkfs failed"; }
  spawn mon ceph-mon "${C[@]}" -i a

  log "registering osd.0"
  local id
  id=$(timeout 60 ceph "${C[@]}" --connect-timeout 50 osd create 2>>"$DIR/log/ceph-cli.out") \
    || { check_alive mon; show_logs; die "'ceph osd create' failed or timed out (mon not reachable on 127.0.0.1:$MON_PORT?)"; }
  [[ $id == 0 ]] || die "expected osd id 0, got '$id'"
  ceph-osd "${C[@]}" -i 0 --mkfs >"$DIR/log/osd-mkfs.out" 2>&1 || { show_logs; die "ceph-osd --mkfs failed"; }
  spawn osd ceph-osd "${C[@]}" -i 0

  spawn rgw radosgw "${C[@]}" -n client.rgw
  log "waiting for $ENDPOINT (up to ${START_TIMEOUT}s; first start creates the RGW pools)"
  local deadline=$((SECONDS + START_TIMEOUT))
  until endpoint_answers; do
    check_alive mon osd rgw
    if ((SECONDS >= deadline)); then
      show_logs
      die "radosgw did not answer on $ENDPOINT within ${START_TIMEOUT}s (logs above, state in $DIR)"
    fi
    sleep 0.2
  done
  log "endpoint answers"

  log "creating S3 user $ACCESS_KEY"
  timeout 60 radosgw-admin "${C[@]}" user create --uid=s3scheduler --display-name="s3-scheduler tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$DIR/log/radosgw-admin.out" \
    || { show_logs; die "radosgw-admin user create failed"; }

  # curl >= 7.75 signs SigV4 itself, so no aws cli / python is needed. curl 7.88 does not add
  # x-amz-content-sha256 on its own and RGW rejects the signature without it (403
  # SignatureDoesNotMatch), so send the SHA-256 of the empty body explicitly.
  log "creating bucket $BUCKET"
  local code deadline2=$((SECONDS + 30))
  local empty_sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  while :; do
    code=$(curl -s -o "$DIR/log/create-bucket.out" -w '%{http_code}' --max-time 10 -X PUT \
      --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
      -H "x-amz-content-sha256: $empty_sha" "$ENDPOINT/$BUCKET") || code=000
    [[ $code == 200 ]] && break
    # Defensive retry (never needed in testing): radosgw may still be settling right after start.
    ((SECONDS < deadline2)) || { cat "$DIR/log/create-bucket.out" >&2 || true; die "bucket creation returned HTTP $code"; }
    sleep 0.5
  done

  trap - EXIT
  log "ready: $ENDPOINT (mon $(<"$DIR/mon.pid"), osd $(<"$DIR/osd.pid"), rgw $(<"$DIR/rgw.pid"))"
  print_env
}

cmd_status() {
  local d pid ok=0
  if [[ ! -d $DIR ]]; then
    echo "not running (no $DIR)"
    return 1
  fi
  for d in "${DAEMONS[@]}"; do
    if pid=$(live_pid "$d"); then
      echo "$d: running (pid $pid, rss $(awk '/^VmRSS/ {print $2 $3}' "/proc/$pid/status"))"
    else
      echo "$d: NOT running"; ok=1
    fi
  done
  if endpoint_answers; then echo "endpoint: $ENDPOINT answers"; else echo "endpoint: $ENDPOINT NOT answering"; ok=1; fi
  return $ok
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) print_env ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 {start|stop|env|status}" >&2
    echo "  env vars: S3_SERVER_DIR (default /tmp/s3-scheduler-rgw), S3_PORT (7480), S3_MON_PORT (3300), S3_START_TIMEOUT (120)" >&2
    exit 2
    ;;
esac
