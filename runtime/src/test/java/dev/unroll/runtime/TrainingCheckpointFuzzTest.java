package dev.unroll.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.FuzzSeeds;
import dev.unroll.runtime.format.ReaderFuzzing;
import dev.unroll.runtime.gpt2.Gpt2Layout;
import dev.unroll.runtime.gpt2.Gpt2Reference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes {@link AdamW#loadCheckpoint}, the reader of training checkpoints, into a GPT-2 of {@link FuzzSeeds#GPT2}'s
 * shape (its scalar reference: a {@link Trainable} without generated code). Before each input is read, its checksum
 * is stamped anew where the input has one where a checkpoint keeps it, so that the fuzzer's changes reach the
 * metadata's numbers, the moments' names, shapes and dtypes and the parameters' load rather than stopping at the
 * checksum (which {@code SafetensorsTest} and {@code TrainingCheckpointTest} check byte by byte). See
 * {@link ReaderFuzzing} for what each input is checked for; besides, a refused input leaves the optimizer as it was
 * (its step count, learning rate and moments).
 */
@Timeout(value = ReaderFuzzing.TIMEOUT_SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TrainingCheckpointFuzzTest {

  private static final Gpt2Reference MODEL = Gpt2Reference.create(FuzzSeeds.GPT2, 1);
  private static final AdamW OPT = AdamW.of(MODEL).lr(0.25f);
  private static final int COUNT = Gpt2Layout.count(FuzzSeeds.GPT2);

  /**
   * A load holds both moments and the model's scratch arena, and a Conv1D weight's copy before transposing it:
   * four arenas.
   */
  private static final long MODEL_BYTES = 4L * COUNT * Float.BYTES;

  private static final ReaderFuzzing FUZZING = new ReaderFuzzing("training.safetensors", ReaderFuzzing.PER_BYTE,
      MODEL_BYTES, CheckpointException.class);

  /** How a checksummed header begins (its 8 hex digits follow), and what they read as while it is computed. */
  private static final byte[] PREFIX = "{\"__metadata__\":{\"unroll.crc32c\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PLACEHOLDER = "00000000".getBytes(StandardCharsets.US_ASCII);

  @FuzzTest(maxDuration = "5m")
  void loadCheckpoint(byte[] input) throws IOException {
    byte[] stamped = stamp(input);
    int steps = OPT.steps();
    float lr = OPT.lr();
    float[] first = new float[COUNT];
    float[] second = new float[COUNT];
    for (int i = 0; i < COUNT; i++) {
      first[i] = OPT.firstMoment(i);
      second[i] = OPT.secondMoment(i);
    }
    Throwable refused = FUZZING.check(stamped, MODEL.parameters(), OPT::loadCheckpoint);
    if (refused != null) {
      assertEquals(steps, OPT.steps(), "step count after a refusal");
      assertEquals(lr, OPT.lr(), "lr after a refusal");
      for (int i = 0; i < COUNT; i++) {
        assertEquals(first[i], OPT.firstMoment(i), "first moment " + i + " after a refusal");
        assertEquals(second[i], OPT.secondMoment(i), "second moment " + i + " after a refusal");
      }
    }
  }

  /** The seeds do what they are for: the valid one loads, each other one is refused for its own reason. */
  @Test
  void eachSeedLoadsOrIsRefusedForItsOwnReason() throws IOException {
    Map<String, byte[]> seeds = FuzzSeeds.all().get(new FuzzSeeds.Target("dev.unroll.runtime",
        "TrainingCheckpointFuzzTest", "loadCheckpoint"));
    Map<String, String> says = Map.of("step-not-a-number", "unroll.adamw.step is 'x'",
        "longer-context", "was saved from a model with", "plain-model", "is not a training checkpoint",
        "truncated", "truncated");
    assertEquals(says.size() + 1, seeds.size(), seeds.keySet().toString());
    assertNull(FUZZING.check(stamp(seeds.get("valid")), MODEL.parameters(), OPT::loadCheckpoint), "valid");
    assertEquals(1, OPT.steps());
    for (Map.Entry<String, String> e : says.entrySet()) {
      Throwable refused = FUZZING.check(stamp(seeds.get(e.getKey())), MODEL.parameters(), OPT::loadCheckpoint);
      assertTrue(refused != null && refused.getMessage().contains(e.getValue()), e.getKey() + ": " + refused);
    }
  }

  /** {@code input} with its checksum made right, when it has one where a checkpoint keeps it; else as it is. */
  static byte[] stamp(byte[] input) {
    int at = 8 + PREFIX.length;
    if (input.length < at + PLACEHOLDER.length || !Arrays.equals(input, 8, at, PREFIX, 0, PREFIX.length)) {
      return input;
    }
    byte[] out = input.clone();
    System.arraycopy(PLACEHOLDER, 0, out, at, PLACEHOLDER.length);
    CRC32C crc = new CRC32C();
    crc.update(out);
    byte[] digits = String.format("%08x", crc.getValue()).getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(digits, 0, out, at, digits.length);
    return out;
  }
}
