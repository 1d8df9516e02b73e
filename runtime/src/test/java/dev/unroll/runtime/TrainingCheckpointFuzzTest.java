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
import java.util.Map;
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

  @FuzzTest(maxDuration = "5m")
  void loadCheckpoint(byte[] input) throws IOException {
    int steps = OPT.steps();
    float lr = OPT.lr();
    float[] first = new float[COUNT];
    float[] second = new float[COUNT];
    for (int i = 0; i < COUNT; i++) {
      first[i] = OPT.firstMoment(i);
      second[i] = OPT.secondMoment(i);
    }
    Throwable refused = load(input);
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
    assertNull(load(seeds.get("valid")), "valid");
    assertEquals(1, OPT.steps());
    for (Map.Entry<String, String> e : says.entrySet()) {
      Throwable refused = load(seeds.get(e.getKey()));
      assertTrue(refused != null && refused.getMessage().contains(e.getValue()), e.getKey() + ": " + refused);
    }
  }

  /** Loads {@code input}, its checksum stamped anew, into the model and optimizer; the refusal, or null. */
  private static Throwable load(byte[] input) throws IOException {
    return FUZZING.check(FuzzSeeds.stampChecksum(input), MODEL.parameters(), OPT::loadCheckpoint);
  }
}
