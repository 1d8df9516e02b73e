#!/usr/bin/env bash
# Fuzzes the runtime's readers of outside bytes with Jazzer (coverage-guided), one target after another:
#
#   runtime/fuzz.sh [SECONDS] [TARGET...]      e.g.  runtime/fuzz.sh 600 gpt2.Gpt2CheckpointsFuzzTest#llmc
#
# SECONDS per target (default 300); TARGETs as package.Class#method under dev.unroll.runtime (default: all of
# them). Each target runs in its own JVM (Jazzer fuzzes one target per run). A finding stops its target and is
# written beside the seeds, runtime/src/test/resources/dev/unroll/runtime/<package>/<Class>Inputs/<method>/crash-*
# (or timeout-*), where the plain `mvn test` replays it from then on; the corpus the fuzzer grows is kept in
# runtime/.cifuzz-corpus/ (not checked in) and resumed by the next run. Each target's output is in
# runtime/target/fuzz/<target>.log; the summary gives its executions, time and finding.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-300}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(
    format.SafetensorsFuzzTest#openAndReadEveryTensor
    format.JsonFuzzTest#parse
    gpt2.Gpt2CheckpointsFuzzTest#llmc
    gpt2.Gpt2CheckpointsFuzzTest#safetensors
    llama.LlamaCheckpointsFuzzTest#llama2c
    llama.LlamaCheckpointsFuzzTest#safetensors
    bert.BertCheckpointsFuzzTest#safetensors
    vit.VitCheckpointsFuzzTest#safetensors
    TrainingCheckpointFuzzTest#loadCheckpoint
    tokenizer.TokenizerFuzzTest#llama2
    tokenizer.TokenizerFuzzTest#wordPiece
  )
fi
mkdir -p target/fuzz
# The readers open the file of each input anew: on a memory file system that costs microseconds, not milliseconds.
scratch=()
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  scratch=(-Dunroll.fuzz.dir=/dev/shm)
fi
status=0
for target in "${targets[@]}"; do
  log="target/fuzz/${target//#/.}.log"
  echo "fuzzing $target for $seconds s (log: runtime/$log)"
  # jazzer.internal.arg.* are libFuzzer's arguments after its program name; given last, -max_total_time overrides
  # the @FuzzTest's maxDuration. The classes' JUnit @Timeout is one input's limit: Jazzer hands it to libFuzzer
  # (-timeout), and JUnit's own timeouts are off, since JUnit would apply it to the whole fuzzing run. Jazzer's
  # hooks, which the replay in `mvn test` leaves off, carry the coverage instrumentation.
  JAZZER_FUZZ=1 mvn -B -ntp test -Dtest="dev.unroll.runtime.$target" -Dsurefire.failIfNoSpecifiedTests=false \
    -Djazzer.hooks=true \
    -Djunit.jupiter.execution.timeout.mode=disabled "${scratch[@]}" \
    -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-max_total_time="$seconds" >"$log" 2>&1
  rc=$?
  done_line=$(grep -a -E '^Done [0-9]+ runs in' "$log" | tail -1)
  finding=$(grep -a -E '^== Java Exception|^==[0-9]+== ERROR' "$log" | head -1)
  echo "  ${done_line:-no 'Done' line: the run ended early}${finding:+; finding: $finding}; mvn exit $rc"
  [ $rc -eq 0 ] || status=1
done
exit $status
