#!/usr/bin/env bash
# The torchinit command-line tool: --help on every verb, each verb's main output, exit status 0
# on success, 1 when a check fails, 2 with an "error:" line naming the problem on bad input.
# Usage: cli_test.sh path/to/torchinit
set -uo pipefail
cli=$1
failures=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# expect STATUS PATTERN -- ARGS...: runs `torchinit ARGS`, wants exit STATUS and PATTERN (grep -E)
# in its stdout+stderr.
expect() {
  local want=$1 pattern=$2
  shift 3
  "$cli" "$@" >"$out" 2>"$err"
  local got=$?
  if [[ $got -ne $want ]] || ! cat "$out" "$err" | grep -Eq -- "$pattern"; then
    echo "FAIL: torchinit $* -> exit $got (want $want), output lacks /$pattern/ or differs:"
    head -20 "$out" "$err" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok:   torchinit $*"
  fi
}

verbs=(list explain check propagate demo bench)
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
mlp="mlp(in=128, hidden=[128,128,128,128,128,128,128,128,128,128], out=10)"
expect 0 "^stable: 11 layers" -- propagate --model "$mlp" --plan he
expect 1 "^exploding: 11 layers" -- propagate --model "$mlp" --plan ":weight = normal; :bias = zeros"
expect 0 '"speedup"' -- bench uniform "normal(std=0.5)" --shape 64,64 --repeat 1 --json
expect 0 "^uniform +[0-9.]+ +[0-9.]+ +[0-9.]+x" -- bench uniform --shape 64,64 --repeat 1
expect 0 "bfloat16" -- bench uniform --shape 64,64 --repeat 1 --dtype bfloat16
expect 2 "error: torchinit bench: unknown --dtype 'int8'" -- bench uniform --dtype int8
expect 2 "error: .*--repeat 0" -- bench uniform --repeat 0
expect 2 "error: .*unknown initializer 'bogus'" -- bench bogus --shape 4,4

if [[ $failures -ne 0 ]]; then
  echo "$failures CLI check(s) failed"
  exit 1
fi
echo "all CLI checks passed"
