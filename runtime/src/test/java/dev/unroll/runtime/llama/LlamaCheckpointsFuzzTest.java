package dev.unroll.runtime.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.FuzzSeeds;
import dev.unroll.runtime.format.ReaderFuzzing;
import java.io.IOException;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes {@link LlamaCheckpoints#load} with llama2.c's {@code .bin} and with Hugging Face safetensors (two targets,
 * two seed corpora), into a model of {@link FuzzSeeds#LLAMA}'s shape (grouped-query attention, untied classifier).
 * See {@link ReaderFuzzing} for what each input is checked for; on success, the padding rows of the embedding and
 * the classifier are zero.
 */
@Timeout(value = ReaderFuzzing.TIMEOUT_SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LlamaCheckpointsFuzzTest {

  private static final LlamaShape SHAPE = FuzzSeeds.LLAMA;
  private static final int COUNT = LlamaLayout.count(SHAPE);
  private static final Parameters MODEL = ReaderFuzzing.model(LlamaLayout.tensors(SHAPE));

  /** A load reads into one scratch arena, and a q or k projection into a copy before permuting its rows. */
  private static final long MODEL_BYTES = 2L * COUNT * Float.BYTES;

  private static final ReaderFuzzing LLAMA2C = new ReaderFuzzing("llama.bin", ReaderFuzzing.PER_BYTE, MODEL_BYTES,
      CheckpointException.class);
  private static final ReaderFuzzing SAFETENSORS = new ReaderFuzzing("llama.safetensors", ReaderFuzzing.PER_BYTE,
      MODEL_BYTES, CheckpointException.class);

  @FuzzTest(maxDuration = "5m")
  void llama2c(byte[] input) throws IOException {
    load(LLAMA2C, input);
  }

  @FuzzTest(maxDuration = "5m")
  void safetensors(byte[] input) throws IOException {
    load(SAFETENSORS, input);
  }

  private static void load(ReaderFuzzing fuzzing, byte[] input) throws IOException {
    Throwable refused = fuzzing.check(input, MODEL, path -> LlamaCheckpoints.load(MODEL, SHAPE, path, fuzzing::notice));
    if (refused == null) {
      for (ParamTensor t : MODEL.tensors()) {
        if (t.name().equals(LlamaLayout.EMBEDDING) || t.name().equals(LlamaLayout.CLASSIFIER)) {
          for (int i = SHAPE.vocab() * SHAPE.dim(); i < t.size(); i++) {
            assertEquals(0f, MODEL.values()[t.offset() + i], "padding of " + t.name());
          }
        }
      }
    }
  }
}
