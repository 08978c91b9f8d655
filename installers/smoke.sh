#!/usr/bin/env bash
# Smoke test of a built bundle, as a user would first meet it: installers/smoke.sh EXECUTABLE EDITION
# (run by `make bundle` on the bundle unpacked from its archive, and by the CI workflow on each system).
# Each step prints one line; the first that fails stops the test with its output.
set -uo pipefail
EXE=${1:?usage: smoke.sh EXECUTABLE full|lite}
EDITION=${2:?usage: smoke.sh EXECUTABLE full|lite}
WORK=$(mktemp -d)
export TINYML_WORKBENCH_HOME="$WORK/home"  # settings, logs and caches of this run only
SIMULATOR=""
cleanup() {
  [ -n "$SIMULATOR" ] && kill "$SIMULATOR" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $1"
  [ -f "$WORK/out" ] && sed 's/^/    /' "$WORK/out" | tail -40
  exit 1
}
step() {  # step NAME COMMAND...: run it, keep its output in $WORK/out
  local name=$1
  shift
  if "$@" >"$WORK/out" 2>&1; then echo "ok: $name"; else fail "$name (exit code $?)"; fi
  if grep -q "Traceback" "$WORK/out"; then fail "$name printed a traceback"; fi
}

# The samples travel inside the bundle (_internal/resources on Linux and Windows, Contents/Resources in a .app).
HERE=$(dirname "$EXE")
SAMPLES=$(find -L "$HERE" "$HERE/../Resources" -type d -path "*resources/samples" -print -quit 2>/dev/null)
[ -n "$SAMPLES" ] || fail "the bundle carries no resources/samples folder"

step "--version names the $EDITION edition" "$EXE" --version
grep -q "($EDITION edition)" "$WORK/out" || fail "--version does not name the $EDITION edition"
step "boards are listed" "$EXE" boards
grep -q "raspberry_pi_pico" "$WORK/out" || fail "the board list has no raspberry_pi_pico"
step "plugins are discovered" "$EXE" plugins
grep -q "uf2" "$WORK/out" || fail "the built-in flashers are missing"
echo "skipped: firmware images (none are bundled yet: TFLM's downloads are missing where this was built)"

step "the sample is analyzed with TFLM's interpreter" "$EXE" analyze "$SAMPLES/digits_int8.tflite" --board raspberry_pi_pico
grep -q "tensor arena (measured by TFLM" "$WORK/out" || fail "no arena measured by TFLM"
if [ "$EDITION" = full ]; then
  step "the Keras sample is analyzed" "$EXE" analyze "$SAMPLES/digits.keras" --board raspberry_pi_pico
  step "the Keras sample is optimized to int8" "$EXE" optimize "$SAMPLES/digits.keras" --quant int8 \
    --calib "$SAMPLES/digits_calib.npz" --eval "$SAMPLES/digits_eval.npz" -o "$WORK/digits_int8.tflite"
  [ -s "$WORK/digits_int8.tflite" ] || fail "optimize wrote no model"
else
  "$EXE" optimize "$SAMPLES/digits.keras" --quant int8 -o "$WORK/never.tflite" >"$WORK/out" 2>&1
  code=$?
  { [ $code = 2 ] && grep -q "needs TensorFlow" "$WORK/out" && ! grep -q Traceback "$WORK/out"; } \
    || fail "a conversion in the lite edition does not say it needs the full one (exit code $code)"
  [ -e "$WORK/never.tflite" ] && fail "the lite edition left a file behind"
  echo "ok: a conversion says in one sentence that it needs the full edition"
fi
step "C source is exported" "$EXE" export "$SAMPLES/digits_int8.tflite" --format c -o "$WORK/export"
ls "$WORK"/export/*.h >/dev/null 2>&1 || fail "the export wrote no header"

# The virtual board serves a pseudo-terminal; the monitor reads it as it would a real board.
if [ "$(uname -s)" = Linux ] || [ "$(uname -s)" = Darwin ]; then
  "$EXE" simulate sample --rate 50 --link "$WORK/board" >"$WORK/simulator.out" 2>&1 &
  SIMULATOR=$!
  for _ in $(seq 1 100); do [ -e "$WORK/board" ] && break; sleep 0.1; done
  [ -e "$WORK/board" ] || { cp "$WORK/simulator.out" "$WORK/out"; fail "the virtual board did not start"; }
  step "the virtual board is monitored for 3 s" "$EXE" monitor --port "$WORK/board" --duration 3 --json
  records=$(grep -o '"records": [0-9]*' "$WORK/out" | grep -o '[0-9]*$')
  [ "${records:-0}" -gt 10 ] || fail "the monitor read ${records:-no} records from the virtual board"
  echo "    $records predictions read"
  kill "$SIMULATOR" 2>/dev/null
  SIMULATOR=""
else
  echo "skipped: the virtual board's pseudo-terminal (Windows: the CI workflow monitors it over --socket)"
fi

if command -v node >/dev/null 2>&1; then
  echo "skipped: Pico emulation (rp2040js needs the workbench's Pico firmware, which is not built here)"
else
  echo "skipped: Pico emulation (no Node.js for rp2040js)"
fi

# The GUI, offscreen, for 10 s: still running at the end (timeout's 124) and no traceback.
QT_QPA_PLATFORM=offscreen timeout 10 "$EXE" gui >"$WORK/out" 2>&1
code=$?
[ $code = 124 ] || fail "the GUI ended after less than 10 s (exit code $code)"
grep -q "Traceback" "$WORK/out" && fail "the GUI printed a traceback"
grep -rq "Traceback" "$TINYML_WORKBENCH_HOME" 2>/dev/null && { cp "$(grep -rl Traceback "$TINYML_WORKBENCH_HOME" | head -1)" "$WORK/out"; fail "the GUI logged a traceback"; }
echo "ok: the GUI ran for 10 s offscreen without a traceback"
echo "smoke test of the $EDITION bundle passed"
