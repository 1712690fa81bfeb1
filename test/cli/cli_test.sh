#!/usr/bin/env bash
# The torchinit command-line tool: --help on every verb, each verb's main output, exit status 0
# on success, 1 when a check fails, 2 with an "error:" line naming the problem on bad input.
# Usage: cli_test.sh path/to/torchinit [PART]: PART 1 (every verb's output, parse errors, numbers)
# or 2 (shapes, threads, files, full disks), so ctest runs the halves side by side; default both.
set -uo pipefail
cli=$1
part=${2:-all}
in_part() { [[ $part == all || $part == "$1" ]]; }
failures=0
out=$(mktemp)
err=$(mktemp)
tmp=$(mktemp -d)
trap 'rm -rf "$out" "$err" "$tmp"' EXIT

# expect STATUS PATTERN -- ARGS...: runs `torchinit ARGS`, wants exit STATUS and PATTERN (grep -E)
# in its stdout+stderr.
expect() {
  local want=$1 pattern=$2
  shift 3
  "$cli" "$@" >"$out" 2>"$err"
  local got=$?
  # grep reads the files itself: `cat … | grep -q` under pipefail fails at random when grep quits
  # at the first match while cat still writes (SIGPIPE).
  if [[ $got -ne $want ]] || ! grep -Eqh -- "$pattern" "$out" "$err"; then
    echo "FAIL: torchinit $* -> exit $got (want $want), output lacks /$pattern/ or differs:"
    head -20 "$out" "$err" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok:   torchinit $*"
  fi
}

# reject STATUS PATTERN -- ARGS...: bad input or a failed read or write. Wants exit STATUS,
# exactly one line on stderr starting "error:" and matching PATTERN, nothing on stdout (nothing
# ran), and no uncaught exception ("terminate called", an abort or a signal: exit >= 128).
# REJECT_STDOUT names the file stdout goes to (default: a temp file that must stay empty).
reject() {
  local want=$1 pattern=$2
  shift 3
  local to=${REJECT_STDOUT:-$out}
  : >"$out"
  "$cli" "$@" >"$to" 2>"$err"
  local got=$?
  local lines
  lines=$(grep -c '^error:' "$err")
  if [[ $got -ne $want || $lines -ne 1 || -s $out ]] || ! grep -Eq -- "^error: .*$pattern" "$err" ||
    grep -q "terminate called" "$err"; then
    echo "FAIL: torchinit $* >$to -> exit $got (want $want), $lines error: lines (want 1)," \
      "or stdout not empty, or stderr lacks /^error: .*$pattern/:"
    head -20 "$out" "$err" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok:   torchinit $* >$to (exit $got: $(head -1 "$err" | cut -c1-110))"
  fi
}

mlp="mlp(in=128, hidden=[128,128,128,128,128,128,128,128,128,128], out=10)"

# Part 1: every verb's help and main output, parse errors, depths, seeds and decimals.
if in_part 1; then
verbs=(list explain check propagate demo bench coordcheck)
for verb in "${verbs[@]}"; do
  expect 0 "^  $verb " -- --help
  expect 0 "Usage: .*$verb" -- "$verb" --help
done
expect 2 "unknown command 'bnech'; did you mean 'bench'" -- bnech

expect 0 "kaiming_normal" -- list
expect 0 "variance +0\.015625" -- explain "kaiming_normal(nonlinearity=relu)" --shape 256,128
expect 0 '"fan_in": 128' -- explain "xavier_uniform" --shape 64,128 --json
expect 0 "^PASS" -- check "normal(std=0.02)" --shape 256,256 --seed 1
expect 0 "PASS" -- check --model "mlp(in=32, hidden=[64], out=10)" --plan he --seed 3
expect 2 "error: .*std" -- check "normal(std=-1)" --shape 16,16
expect 2 "error: .*did you mean 'kaiming_normal'" -- check "kaiming_norml" --shape 16,16
expect 2 "error: .*--dtype" -- check normal --shape 16,16 --dtype int8
expect 0 "^stable: 11 layers" -- propagate --model "$mlp" --plan he
expect 1 "^exploding: 11 layers" -- propagate --model "$mlp" --plan ":weight = normal; :bias = zeros"
cc_mlp="mlp(in=16, hidden=[{width}, {width}], out=4)"
cc_plan="*.bias = zeros; * = kaiming_normal(nonlinearity=relu)"
expect 0 "^passed: every layer's update is flat in width" -- \
  coordcheck --model "$cc_mlp" --plan "$cc_plan" --widths 64,128,256,512 --steps 1
expect 1 "grows" -- coordcheck --model "$cc_mlp" --plan "$cc_plan" --widths 64,128,256,512 --steps 1 \
  --standard
expect 0 '"passed": true' -- coordcheck --model "$cc_mlp" --plan "$cc_plan" --widths 64,128,256,512 \
  --steps 1 --json --svg "$tmp/coordcheck.svg"
cc_gpt_unit="gpt(vocab=32, context=8, width={width}, depth=2, heads=2, ops=unit)"
expect 0 "^passed: every layer's update is flat in width" -- \
  coordcheck --model "$cc_gpt_unit" --u-mup --widths 64,128,256,512 --steps 2 --batch 8
if grep -q "<svg" "$tmp/coordcheck.svg" 2>/dev/null; then
  echo "ok:   coordcheck --svg wrote an SVG"
else
  echo "FAIL: coordcheck --svg wrote no SVG"
  failures=$((failures + 1))
fi
reject 2 "has no \\{width\\}" -- coordcheck --model "mlp(in=16, hidden=[64], out=4)" --plan he
reject 2 "give --model" -- coordcheck --plan he
reject 2 "drop --plan" -- coordcheck --model "$cc_gpt_unit" --plan he --u-mup
reject 2 "ops=unit" -- coordcheck --model "gpt(vocab=32, context=8, width={width}, depth=1, heads=2)" \
  --u-mup --widths 32,64
reject 2 "base_width 128 must be at most the smallest width 64" -- \
  coordcheck --model "$cc_mlp" --plan he --base-width 128
reject 2 "--steps: expected an integer in \\[1, 100\\], got '0'" -- \
  coordcheck --model "$cc_mlp" --plan he --steps 0
expect 0 '"speedup"' -- bench uniform "normal(std=0.5)" --shape 64,64 --repeat 1 --json
expect 0 "^uniform +[0-9.]+ +[0-9.]+ +[0-9.]+x" -- bench uniform --shape 64,64 --repeat 1
expect 0 "bfloat16" -- bench uniform --shape 64,64 --repeat 1 --dtype bfloat16
expect 2 "error: torchinit bench: unknown --dtype 'int8'" -- bench uniform --dtype int8
reject 2 "--repeat: expected an integer in \\[1, 1000\\], got '0'" -- bench uniform --repeat 0
expect 2 "error: .*unknown initializer 'bogus'" -- bench bogus --shape 4,4

# Parse errors: CLI11's own exit codes (104-114) used to come without an "error:" line.
reject 2 "The following argument.* not expected: --bogus \\(torchinit check --help for usage\\)" -- \
  check normal --shape 4,4 --bogus
reject 2 "A subcommand is required" --
reject 2 "--shape.*1 required" -- explain xavier_uniform --shape
reject 2 "--repeat: expected an integer in \\[1, 1000\\], got 'x'" -- bench uniform --repeat x
reject 2 "--json.*" -- list --json=maybe
# Depths, widths and batches that crashed (depth 0: SIGSEGV; -5: std::length_error) or were
# ignored (--batch -1).
reject 2 "--depth: expected an integer in \\[1, 10000\\], got '0'" -- propagate --sweep --depth 0
reject 2 "--depth: expected an integer in \\[1, 10000\\], got '-5'" -- propagate --sweep --depth -5
reject 2 "--depth: expected an integer in \\[1, 10000\\], got '0'" -- demo --depth 0 --out "$tmp/demo"
reject 2 "--depth: .*got '-5'" -- demo --depth -5 --out "$tmp/demo"
reject 2 "--width: expected an integer in \\[1, 65536\\], got '0'" -- propagate --sweep --width 0
reject 2 "--steps: expected an integer in \\[1, 100000\\], got '0'" -- demo --train --steps 0
reject 2 "--depth: .*got '99999999999999999999' \\(too large\\)" -- demo --depth 99999999999999999999
reject 2 "--depth: .*got '1e3'" -- propagate --sweep --depth 1e3
reject 2 "the depth sweep at --depth 10000 --width 65536 .* needs .* GB, more than this machine's" -- \
  propagate --sweep --depth 10000 --width 65536
if [[ -e "$tmp/demo" ]]; then
  echo "FAIL: a rejected demo created its --out folder"
  failures=$((failures + 1))
fi
reject 2 "--batch: expected an integer in \\[1, 1048576\\], got '-1'" -- \
  propagate --model "mlp(in=8, hidden=[8], out=2)" --plan he --batch -1
reject 2 "--input-shape excludes --batch" -- \
  propagate --model "mlp(in=8, hidden=[8], out=2)" --plan he --batch 4 --input-shape 4,8
reject 2 "--alpha: expected a finite number in \\(0, 1\\), got 'nan'" -- \
  propagate --model "mlp(in=8, hidden=[8], out=2)" --plan he --alpha nan
reject 2 "--tolerance: expected a finite number in \\(0, inf\\), got '0'" -- \
  propagate --model "mlp(in=8, hidden=[8], out=2)" --plan he --tolerance 0
reject 2 "--alpha: .*got '1'" -- check normal --shape 16,16 --alpha 1
# Seeds: "-1" and 20 digits used to become 2^64-1 silently.
reject 2 "--seed: expected an integer in \\[0, 18446744073709551615\\], got '-1'" -- \
  check normal --shape 16,16 --seed -1
reject 2 "--seed: .*got '18446744073709551616' \\(too large\\)" -- \
  check normal --shape 16,16 --seed 18446744073709551616
reject 2 "--seed: .*got '99999999999999999999' \\(too large\\)" -- \
  propagate --model "mlp(in=8, hidden=[8], out=2)" --plan he --seed 99999999999999999999
expect 0 "^PASS" -- check normal --shape 256,256 --seed 18446744073709551615
# Decimal, also with a leading zero (CLI11 alone read 010 as octal 8).
"$cli" check normal --shape 256,256 --seed 010 --json >"$out" 2>&1
if ! "$cli" check normal --shape 256,256 --seed 10 --json | cmp -s - "$out"; then
  echo "FAIL: --seed 010 should be --seed 10"
  failures=$((failures + 1))
fi
fi

# Part 2: shapes, explain, threads and repeats, files, full disks, a failed check.
if in_part 2; then
# Shapes: negative, empty, zero and overflowing entries.
reject 2 "--shape: '4,-4': entry 2 \\(-4\\) is not positive" -- check normal --shape 4,-4
reject 2 "--shape: '4,,4': entry 2 is empty" -- check normal --shape 4,,4
reject 2 "--shape: '4,': entry 2 is empty" -- explain normal --shape 4,
reject 2 "--shape: '': entry 1 is empty" -- explain normal --shape ""
reject 2 "--shape: '0,4': entry 1 \\(0\\) is not positive" -- explain normal --shape 0,4
reject 2 "--shape: '4,x': entry 2 \\('x'\\) is not an integer" -- bench uniform --shape 4,x
reject 2 "--shape: '4294967296,4294967296': the element count does not fit in int64" -- \
  explain normal --shape 4294967296,4294967296
reject 2 "--shape: '99999999999999999999': entry 1 .* is too large" -- explain normal --shape 99999999999999999999
reject 2 "--shape: .*more than 16 dimensions" -- explain normal --shape 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1
reject 2 "--input-shape: '4,,8': entry 2 is empty" -- \
  propagate --model "mlp(in=8, hidden=[8], out=2)" --plan he --input-shape 4,,8
reject 2 "torchinit check: --shape 1048576,1048576,1024 \\(float32\\) needs 4.5e\\+06 GB" -- \
  check normal --shape 1048576,1048576,1024
# explain allocates nothing: any shape whose element count fits int64 is fine.
expect 0 "variance +1\\.86265e-09" -- explain kaiming_normal --shape 1048576,1048576,1024
# Threads and repeats: --threads 10000 used to be accepted and never finish.
reject 2 "--threads: expected an integer in \\[0, [0-9]+\\], got '10000'" -- bench uniform --threads 10000
reject 2 "--threads: .*got '-1'" -- bench uniform --threads -1
expect 0 "4 x this machine's [0-9]+ hardware threads" -- bench --help
reject 2 "--layers: expected an integer in \\[1, 1000000\\], got '0'" -- \
  explain --model "mlp(in=8, hidden=[8], out=2)" --plan gpt2 --layers 0
if "$cli" --help | grep -q "^  dist-demo "; then  # built with TORCHINIT_BUILD_DISTRIBUTED
  reject 2 "--world-size: expected an integer in \\[1, 64\\], got '0'" -- dist-demo --world-size 0
  reject 2 "--seed: .*got '-1'" -- dist-demo --seed -1
  reject 2 "--orthogonal: expected an integer in \\[0, 65536\\]" -- dist-demo --orthogonal -1
  reject 2 "llama needs heads \\(7\\) to divide dim \\(4096\\)" -- dist-demo --model "llama(heads=7)"
  reject 2 "--compare-block 2 is not a block of" -- \
    dist-demo --model "llama(dim=64, layers=2, heads=4, hidden=160, vocab=100)" --compare-block 2
  # A small Llama end to end: shards checked, sampled parameters and orthogonal 1-4 ways bitwise.
  expect 0 "PASS: every check accepted" -- \
    dist-demo --model "llama(dim=64, layers=2, heads=4, hidden=160, vocab=100)" --orthogonal 300
fi
# Files: a folder that cannot be created (std::filesystem_error used to abort), plans nested
# 200k deep (stack overflow), a plan with a byte order mark.
reject 2 "torchinit demo: cannot create the output folder '/dev/null/sub': Not a directory" -- \
  demo --out /dev/null/sub
reject 2 "torchinit::load_fashion_mnist: expected /nonexistent/train-images-idx3-ubyte.gz \\(missing\\)" -- \
  demo --train --data /nonexistent --work "$tmp/work" --out "$tmp/demo"
if [[ -e "$tmp/demo" || -e "$tmp/work" ]]; then
  echo "FAIL: demo without its dataset created its --out or --work folder"
  failures=$((failures + 1))
fi
reject 2 "torchinit propagate: cannot write '$tmp/missing/plot.svg': '$tmp/missing' is not a folder" -- \
  propagate --model "mlp(in=8, hidden=[8], out=2)" --plan he --svg "$tmp/missing/plot.svg"
{ head -c 200000 /dev/zero | tr '\0' '['; head -c 200000 /dev/zero | tr '\0' ']'; } >"$tmp/deep.json"
reject 2 "in '$tmp/deep.json': torchinit::Plan::parse: line 1, column 257: JSON nested deeper than 256" -- \
  check --model "mlp(in=8, hidden=[8], out=2)" --plan "$tmp/deep.json"
{ for ((i = 0; i < 200000; i++)); do printf '{"rules": '; done
  printf '[]'
  head -c 200000 /dev/zero | tr '\0' '}'; } >"$tmp/deep-rules.json"
reject 2 "in '$tmp/deep-rules.json': torchinit::Plan::parse: line 1, column 2561: JSON nested deeper" -- \
  explain --model "mlp(in=8, hidden=[8], out=2)" --plan "$tmp/deep-rules.json"
printf '\xEF\xBB\xBF:weight = kaiming_normal(nonlinearity=relu)\n:bias = zeros\n' >"$tmp/bom.txt"
expect 0 "^PASS" -- check --model "mlp(in=32, hidden=[64], out=10)" --plan "$tmp/bom.txt" --seed 3
printf '\xEF\xBB\xBF{"rules": [{"selector": ":weight", "spec": "kaiming_norml"}]}' >"$tmp/bom.json"
reject 2 "line 1, column 44: JSON rule 1 \"spec\"" -- \
  explain --model "mlp(in=8, hidden=[8], out=2)" --plan "$tmp/bom.json"
# Writes to a full disk: fmt's exception (large output) or the final flush (small output) used
# to abort or exit 0 with the output lost.
REJECT_STDOUT=/dev/full reject 2 "cannot write to standard output: No space left on device" -- list
REJECT_STDOUT=/dev/full reject 2 "cannot write to standard output: No space left on device" -- list --json
REJECT_STDOUT=/dev/full reject 2 "cannot write to standard output" -- explain normal --shape 4,4
REJECT_STDOUT=/dev/full reject 2 "cannot write to standard output" -- --help
REJECT_STDOUT=/dev/full reject 2 "cannot write to standard output" -- check normal --shape 64,64
# A failed check is exit 1 without an "error:" line.
"$cli" propagate --model "$mlp" --plan ":weight = normal; :bias = zeros" >"$out" 2>"$err"
if [[ $? -ne 1 ]] || grep -q '^error:' "$err"; then
  echo "FAIL: a failed propagate check should exit 1 without an error: line"
  failures=$((failures + 1))
fi

fi

if [[ $failures -ne 0 ]]; then
  echo "$failures CLI check(s) failed"
  exit 1
fi
echo "all CLI checks passed"
