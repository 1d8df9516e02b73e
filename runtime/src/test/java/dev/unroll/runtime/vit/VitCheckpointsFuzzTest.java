package dev.unroll.runtime.vit;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.FuzzSeeds;
import dev.unroll.runtime.format.ReaderFuzzing;
import java.io.IOException;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes {@link VitCheckpoints#load} (Hugging Face safetensors through {@code format/ClassifierCheckpoints}) into a
 * model of {@link FuzzSeeds#VIT}'s shape. See {@link ReaderFuzzing} for what each input is checked for.
 */
@Timeout(value = ReaderFuzzing.TIMEOUT_SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VitCheckpointsFuzzTest {

  private static final VitShape SHAPE = FuzzSeeds.VIT;
  private static final int COUNT = VitLayout.count(SHAPE);
  private static final Parameters MODEL = ReaderFuzzing.model(VitLayout.tensors(SHAPE));

  /**
   * A load reads into one scratch arena; a file without the head starts from the family's initial parameters
   * instead, values and gradients, which the initialisation fills through buffers of its own.
   */
  private static final long MODEL_BYTES = 4L * COUNT * Float.BYTES;

  private static final ReaderFuzzing SAFETENSORS = new ReaderFuzzing("vit.safetensors", ReaderFuzzing.PER_BYTE,
      MODEL_BYTES, CheckpointException.class);

  @FuzzTest(maxDuration = "5m")
  void safetensors(byte[] input) throws IOException {
    SAFETENSORS.check(input, MODEL, path -> VitCheckpoints.load(MODEL, SHAPE, path, SAFETENSORS::notice));
  }
}
