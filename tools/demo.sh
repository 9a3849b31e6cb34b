#!/usr/bin/env bash
# make demo: a live depot on this machine within a minute.
#
#   mosquitto (a free loopback port, not the system's 1883)
#   sitegate on a demo configuration: a 100 A grid connection, two
#     circuits (row-a 63 A, row-b 40 A), 20 chargers DEMO-01..20 of both
#     OCPP versions, 3- and 1-phase, four with a quirk; the installer's
#     page on DEMO_WEB
#   sitegate-sim: the 20 chargers, cars arriving every few seconds
#   an EMS: a site limit per phase, stepped every DEMO_STEP_S seconds with
#     mosquitto_pub
#
# Prints the page's address and its setup code, then the simulator's live
# summary. Ctrl-C stops the EMS, the simulator, the gateway and the broker,
# in that order, waiting for each; nothing is left running.
#
# Environment: DEMO_DIR (var/demo: configuration, logs, pids), DEMO_WEB
# (127.0.0.1:8080; 127.0.0.1:0 for any free port), DEMO_STEP_S (20),
# DEMO_SECONDS (0: until Ctrl-C), DEMO_LIMITS (the EMS's steps, A per
# phase), SITEGATE_BIN (build/sitegate), SITEGATE_SIM (build/sitegate-sim),
# DEMO_QUIET=1 (no live summary). Files in DEMO_DIR: sitegate.json,
# chargers.json (the simulator's), gateway.log, broker.log, sim.log,
# sim.jsonl (the simulator's JSON line per second), limits.log ("<epoch
# ms> <A>" per published limit), pids ("<name> <pid>" per process).
set -u

cd "$(dirname "$0")/.."
DIR=${DEMO_DIR:-var/demo}
WEB=${DEMO_WEB:-127.0.0.1:8080}
STEP=${DEMO_STEP_S:-20}
SECONDS_MAX=${DEMO_SECONDS:-0}
LIMITS=${DEMO_LIMITS:-"60 40 80 25 50 100"}
BIN=${SITEGATE_BIN:-build/sitegate}
SIM=${SITEGATE_SIM:-build/sitegate-sim}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
SITE=demo
PREFIX=sitegate/$SITE

say() { printf 'demo: %s\n' "$*"; }
die() { say "$*" >&2; stop_all; exit 1; }

for f in "$BIN" "$SIM"; do
	[ -x "$f" ] || { say "$f missing: run make all sim (or make demo)" >&2; exit 1; }
done
for f in "$MOSQUITTO" mosquitto_pub; do
	command -v "$f" >/dev/null 2>&1 || {
		say "$f missing: apt-get install mosquitto mosquitto-clients (make demo does)" >&2
		exit 1
	}
done

# The page's usual port taken (another gateway, make run): any free one.
if [ -z "${DEMO_WEB:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
	say "127.0.0.1:8080 is taken: the page gets a free port"
	WEB=127.0.0.1:0
fi

rm -rf "$DIR"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
: >"$DIR/pids"

# ------------------------------------------------------------ processes

EMS_PID= SIM_PID= GW_PID= BROKER_PID= SLEEPER=

# Stop one process (signal, then wait up to 10 s, then SIGKILL).
stop_one() {
	local name=$1 pid=$2 sig=$3
	[ -n "$pid" ] || return 0
	if ! kill -"$sig" "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		say "$name had stopped already"
		return 0
	fi
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "$name did not stop within 10 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	say "$name stopped"
}

STOPPING=
stop_all() {
	[ -n "$STOPPING" ] && return
	STOPPING=1
	trap '' INT TERM
	[ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
	stop_one "EMS" "$EMS_PID" TERM
	stop_one "simulator" "$SIM_PID" INT
	stop_one "gateway" "$GW_PID" TERM
	stop_one "broker" "$BROKER_PID" TERM
	say "everything stopped; logs in $DIR"
}
trap 'echo; stop_all; exit 0' INT TERM

# A port nothing listens on (bash's /dev/tcp: a refused connect); the
# broker then binds it, and a race with another program is retried as the
# bench does.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

wait_log() {	# file regex seconds
	local i
	for i in $(seq $(($3 * 10))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Each child in its own session: a Ctrl-C reaches this script only, which
# stops them in order.
start() {	# name log command...
	local name=$1 log=$2
	shift 2
	setsid "$@" >"$log" 2>&1 </dev/null &
	echo "$name $!" >>"$DIR/pids"
	LAST_PID=$!
}

# ------------------------------------------------------------ broker

for attempt in 1 2 3; do
	MQ_PORT=$(free_port)
	{
		echo "listener $MQ_PORT 127.0.0.1"
		echo "allow_anonymous true"
		echo "persistence false"
		echo "log_dest stderr"
		echo "set_tcp_nodelay true"
		[ "$(id -u)" -eq 0 ] && echo "user root"
	} >"$DIR/mosquitto.conf"
	start broker "$DIR/broker.log" "$MOSQUITTO" -c "$DIR/mosquitto.conf"
	BROKER_PID=$LAST_PID
	for _ in $(seq 100); do
		kill -0 "$BROKER_PID" 2>/dev/null || break
		(exec 3<>"/dev/tcp/127.0.0.1/$MQ_PORT") 2>/dev/null && break 2
		sleep 0.1
	done
	kill -0 "$BROKER_PID" 2>/dev/null && die "mosquitto does not accept connections (see $DIR/broker.log)"
	wait "$BROKER_PID" 2>/dev/null
	BROKER_PID=
done
[ -n "$BROKER_PID" ] || die "mosquitto did not start (see $DIR/broker.log)"

# ------------------------------------------------------------ configuration

# 20 chargers: DEMO-01..10 on row-a, 11..20 on row-b; versions alternate;
# every fourth is 1-phase (L1, L2, L3 in turn); the 3-phase ones of row-b
# are rotated L2L3L1; four have a quirk.
charger() {	# n -> "gateway entry|simulator entry"
	local n=$1 id ver phases rot circuit max quirk
	id=$(printf 'DEMO-%02d' "$n")
	ver=$([ $((n % 2)) -eq 1 ] && echo 1.6 || echo 2.0.1)
	circuit=$([ "$n" -le 10 ] && echo row-a || echo row-b)
	if [ $((n % 4)) -eq 0 ]; then
		phases=1; max=32
		rot=L$(( (n / 4 - 1) % 3 + 1 ))
	else
		phases=3; max=$([ $((n % 3)) -eq 0 ] && echo 16 || echo 32)
		rot=$([ "$circuit" = row-a ] && echo L1L2L3 || echo L2L3L1)
	fi
	case $n in
	5) quirk='"reject_tx_profile"' ;;
	9) quirk='"w_only"' ;;
	14) quirk='"stack_level_0"' ;;
	18) quirk='"ignore_number_phases"' ;;
	*) quirk= ;;
	esac
	local common="\"id\": \"$id\", \"password\": \"demo-password-$id\", \"max_current_a\": $max, \"phases\": $phases, \"phase_rotation\": \"$rot\""
	GW_ENTRIES+="${GW_ENTRIES:+,
}    { $common, \"circuit\": \"$circuit\" }"
	SIM_ENTRIES+="${SIM_ENTRIES:+,
}    { $common, \"version\": \"$ver\", \"quirks\": [$quirk] }"
}
GW_ENTRIES= SIM_ENTRIES=
for n in $(seq 20); do charger "$n"; done

cat >"$DIR/sitegate.json" <<END
{
  "site_id": "$SITE",
  "state_file": "$DIR/state.db",
  "log_level": "info",
  "ocpp": { "listen": "127.0.0.1:0", "versions": ["ocpp2.0.1", "ocpp1.6"] },
  "chargers": [
$GW_ENTRIES
  ],
  "site": {
    "voltage_v": 230, "min_current_a": 6, "failsafe_current_a": 16,
    "circuits": [
      { "id": "main", "max_current_a": 100 },
      { "id": "row-a", "parent": "main", "max_current_a": 63 },
      { "id": "row-b", "parent": "main", "max_current_a": 40 }
    ]
  },
  "authorization": { "mode": "accept_all" },
  "mqtt": { "host": "127.0.0.1", "port": $MQ_PORT, "limit_timeout_s": 120 },
  "web": { "listen": "$WEB", "root": "$PWD/web" }
}
END
cat >"$DIR/chargers.json" <<END
{ "chargers": [
$SIM_ENTRIES
] }
END

# ------------------------------------------------------------ gateway

start gateway "$DIR/gateway.log" "$BIN" --config "$DIR/sitegate.json"
GW_PID=$LAST_PID
wait_log "$DIR/gateway.log" 'gateway: ready|ems: subscribed' 30 ||
	die "the gateway did not start (see $DIR/gateway.log)"
OCPP_PORT=$(grep -oE 'ocpp: listening addr=[^ ]*:[0-9]+' "$DIR/gateway.log" | head -1 | grep -oE '[0-9]+$')
PAGE=$(grep -oE 'web: page at [^ ]+' "$DIR/gateway.log" | head -1 | sed 's/web: page at //')
CODE=$(grep -oE 'web: setup code [0-9-]+' "$DIR/gateway.log" | head -1 | sed 's/web: setup code //')
[ -n "$OCPP_PORT" ] || die "no OCPP port in $DIR/gateway.log"

say "broker   127.0.0.1:$MQ_PORT (topics under $PREFIX/)"
say "gateway  ws://127.0.0.1:$OCPP_PORT/ocpp (log: $DIR/gateway.log)"
say "page     ${PAGE:-(none: see the log)}"
say "setup    code ${CODE:-(a password is set already)}: the page asks for it once, with a new password"
say "EMS      a site limit every $STEP s: $LIMITS A per phase, in turn"
say "watch    mosquitto_sub -p $MQ_PORT -v -t '$PREFIX/#'"
say "Ctrl-C stops everything"
echo

# ------------------------------------------------------------ simulator

SIM_ARGS=(--url "ws://127.0.0.1:$OCPP_PORT/ocpp" --config "$DIR/chargers.json"
	--arrival-s 5 --stay-s 300 --json-summary "$DIR/sim.jsonl")
if [ -n "${DEMO_QUIET:-}" ] || [ ! -t 1 ]; then
	start simulator "$DIR/sim.log" "$SIM" "${SIM_ARGS[@]}" --summary-s 5
else
	# The live summary on this terminal (still in its own session).
	setsid "$SIM" "${SIM_ARGS[@]}" </dev/null 2>"$DIR/sim.log" &
	LAST_PID=$!
	echo "simulator $LAST_PID" >>"$DIR/pids"
fi
SIM_PID=$LAST_PID

# ------------------------------------------------------------ EMS

# In this script's process group: a Ctrl-C must not end it before its
# turn (ignored here, and so in its sleep and mosquitto_pub too).
ems() {
	local sleeper=
	trap '' INT
	trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 0' TERM
	while :; do
		for a in $LIMITS; do
			# The time before the publish: the gateway may act on it
			# before mosquitto_pub returns.
			echo "$(date +%s%3N) $a" >>"$DIR/limits.log"
			mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -q 1 -t "$PREFIX/limit" \
				-m "{\"max_current_a\": $a}" ||
				echo "mosquitto_pub failed" >&2
			sleep "$STEP" &
			sleeper=$!
			wait "$sleeper"
			sleeper=
		done
	done
}
ems >"$DIR/ems.log" 2>&1 </dev/null &
EMS_PID=$!
echo "ems $EMS_PID" >>"$DIR/pids"

# ------------------------------------------------------------ run

if [ "$SECONDS_MAX" -gt 0 ]; then
	sleep "$SECONDS_MAX" &
	SLEEPER=$!
	wait $SLEEPER
	stop_all
	exit 0
fi
while kill -0 "$SIM_PID" 2>/dev/null && kill -0 "$GW_PID" 2>/dev/null; do
	sleep 1 &
	SLEEPER=$!
	wait $SLEEPER
done
say "a process ended by itself (see $DIR)"
stop_all
exit 1
