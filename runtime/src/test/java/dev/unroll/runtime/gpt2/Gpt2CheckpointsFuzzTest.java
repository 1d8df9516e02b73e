package dev.unroll.runtime.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.FuzzSeeds;
import dev.unroll.runtime.format.ReaderFuzzing;
import java.io.IOException;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes {@link Gpt2Checkpoints#load} with llm.c's {@code .bin} and with safetensors (two targets, two seed corpora;
 * the load tells them apart by their first bytes), into a model of {@link FuzzSeeds#GPT2}'s shape. See
 * {@link ReaderFuzzing} for what each input is checked for; on success, the padding rows of {@code wte} are zero.
 */
@Timeout(value = ReaderFuzzing.TIMEOUT_SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class Gpt2CheckpointsFuzzTest {

  private static final Gpt2Shape SHAPE = FuzzSeeds.GPT2;
  private static final int COUNT = Gpt2Layout.count(SHAPE);
  private static final Parameters MODEL = ReaderFuzzing.model(Gpt2Layout.tensors(SHAPE));

  /** A load reads into one scratch arena, and a Conv1D weight into a copy before transposing it. */
  private static final long MODEL_BYTES = 2L * COUNT * Float.BYTES;

  private static final ReaderFuzzing LLMC = new ReaderFuzzing("gpt2.bin", ReaderFuzzing.PER_BYTE, MODEL_BYTES,
      CheckpointException.class);
  private static final ReaderFuzzing SAFETENSORS = new ReaderFuzzing("gpt2.safetensors", ReaderFuzzing.PER_BYTE,
      MODEL_BYTES, CheckpointException.class);

  @FuzzTest(maxDuration = "5m")
  void llmc(byte[] input) throws IOException {
    load(LLMC, input);
  }

  @FuzzTest(maxDuration = "5m")
  void safetensors(byte[] input) throws IOException {
    load(SAFETENSORS, input);
  }

  private static void load(ReaderFuzzing fuzzing, byte[] input) throws IOException {
    Throwable refused = fuzzing.check(input, MODEL, path -> Gpt2Checkpoints.load(MODEL, SHAPE, path, fuzzing::notice));
    if (refused == null) {
      for (int i = SHAPE.vocab() * SHAPE.dim(); i < SHAPE.paddedVocab() * SHAPE.dim(); i++) {
        assertEquals(0f, MODEL.values()[i], "padding of wte");
      }
    }
  }
}
