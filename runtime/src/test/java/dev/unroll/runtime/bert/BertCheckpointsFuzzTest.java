package dev.unroll.runtime.bert;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.FuzzSeeds;
import dev.unroll.runtime.format.ReaderFuzzing;
import java.io.IOException;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes {@link BertCheckpoints#load} (Hugging Face safetensors through {@code format/ClassifierCheckpoints}) into a
 * model of {@link FuzzSeeds#BERT}'s shape. See {@link ReaderFuzzing} for what each input is checked for.
 */
@Timeout(value = ReaderFuzzing.TIMEOUT_SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BertCheckpointsFuzzTest {

  private static final BertShape SHAPE = FuzzSeeds.BERT;
  private static final int COUNT = BertLayout.count(SHAPE);
  private static final Parameters MODEL = ReaderFuzzing.model(BertLayout.tensors(SHAPE));

  /**
   * A load reads into one scratch arena; a file without the head starts from the family's initial parameters
   * instead, values and gradients, which the initialisation fills through buffers of its own.
   */
  private static final long MODEL_BYTES = 4L * COUNT * Float.BYTES;

  private static final ReaderFuzzing SAFETENSORS = new ReaderFuzzing("bert.safetensors", ReaderFuzzing.PER_BYTE,
      MODEL_BYTES, CheckpointException.class);

  @FuzzTest(maxDuration = "5m")
  void safetensors(byte[] input) throws IOException {
    SAFETENSORS.check(input, MODEL, path -> BertCheckpoints.load(MODEL, SHAPE, path, SAFETENSORS::notice));
  }
}
