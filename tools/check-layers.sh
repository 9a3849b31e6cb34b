#!/bin/sh
# Check the layering of the source tree (docs/architecture.md):
#
#  1. includes: a file includes only headers of its own layer and of the
#     layers below it. Layers, lowest first (a folder's rank):
#        0 types         plain types, no project includes at all
#        1 util, policy  small helpers; the pure allocator
#        2 transport     WebSocket, OCPP-J framing, MQTT, TLS
#        3 ocpp          schema and the codecs
#        4 site          the neutral model and its store
#        5 roles, control, http
#        6 app           composition root and configuration (src/main.c too)
#  2. links: policy/ and the pure OCPP code (src/ocpp/) need nothing beyond
#     libc, libm, cJSON, and the pure parts of the layers below them
#     (types/, util/isotime, util/json, util/num, util/jcheck, util/xalloc).
#     Checked on the optimised objects: every symbol they leave undefined
#     must be defined by one of those.
#
# usage: tools/check-layers.sh OBJDIR     (OBJDIR: build/obj)
# Exit status 0 when the tree is layered; otherwise each fault on a line.
set -u
objdir=${1:-build/obj}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
faults=0

rank() {
	case "$1" in
	types) echo 0 ;;
	util | policy) echo 1 ;;
	transport) echo 2 ;;
	ocpp) echo 3 ;;
	site) echo 4 ;;
	roles | control | http) echo 5 ;;
	app | main.c) echo 6 ;;
	*) echo 99 ;;
	esac
}

# The layer of a source path: its first folder under src/ (or policy).
layer_of() {
	case "$1" in
	policy/*) echo policy ;;
	src/*/*) p=${1#src/}; echo "${p%%/*}" ;;
	src/*) echo main.c ;;
	esac
}

for f in $(find src policy -name '*.[ch]' | sort); do
	own=$(layer_of "$f")
	r=$(rank "$own")
	if [ "$r" = 99 ]; then
		echo "layers: $f: folder $own has no layer (add it to tools/check-layers.sh)"
		faults=$((faults + 1))
		continue
	fi
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		to=${inc%%/*}
		[ "$to" = "$inc" ] && continue	# same-folder spelling
		tr=$(rank "$to")
		if [ "$tr" -gt "$r" ]; then
			echo "layers: $f ($own, layer $r) includes $inc ($to, layer $tr)"
			faults=$((faults + 1))
		fi
	done
done

# ---- links of the pure code
libdir=$(dirname "$(gcc -print-file-name=libc.so.6)")
defined() {
	for lib in "$@"; do
		nm -D --defined-only "$lib" 2>/dev/null
	done | awk '{print $NF}' | sed 's/@.*//' | sort -u
}
cjson=$(pkg-config --variable=libdir libcjson 2>/dev/null)/libcjson.so
sys=$(mktemp) proj=$(mktemp) und=$(mktemp)
trap 'rm -f "$sys" "$proj" "$und"' EXIT
defined "$(gcc -print-file-name=libc.so.6)" "$(gcc -print-file-name=libm.so.6)" \
	"$(readlink -f "$cjson")" /lib/x86_64-linux-gnu/libc.so.6 \
	/lib/x86_64-linux-gnu/libm.so.6 "$libdir/libc.so.6" >"$sys"
if [ ! -s "$sys" ]; then
	echo "layers: cannot read the symbols of libc, libm and cJSON"
	exit 2
fi

pure_lower=""
for o in types/ocpp util/isotime util/json util/num util/jcheck util/xalloc; do
	[ -f "$objdir/src/$o.o" ] && pure_lower="$pure_lower $objdir/src/$o.o"
done

check_pure() {	# name objects...
	name=$1
	shift
	[ $# -eq 0 ] && return
	nm --defined-only "$@" $pure_lower | awk 'NF==3 {print $3}' | sort -u >"$proj"
	nm -u "$@" | awk 'NF>=2 {print $NF}' | sed 's/@.*//' | sort -u >"$und"
	for s in $(comm -23 "$und" "$proj" | comm -23 - "$sys"); do
		case "$s" in
		_GLOBAL_OFFSET_TABLE_ | __stack_chk_fail | __*_chk) continue ;;
		esac
		echo "layers: $name uses $s, which is not libc, libm, cJSON or a pure lower module"
		faults=$((faults + 1))
	done
}

check_pure policy $(ls "$objdir"/policy/*.o 2>/dev/null)
check_pure "src/ocpp" $(ls "$objdir"/src/ocpp/*.o 2>/dev/null)

if [ "$faults" -gt 0 ]; then
	echo "layers: $faults fault(s)"
	exit 1
fi
echo "layers: ok"
