package dev.unroll.runtime.format;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes {@link Safetensors}: {@link Safetensors#open} (the length, the JSON header, every tensor's entry and the
 * offsets), then {@link Safetensors#readFloats(String)} on every tensor of a file it opened, whatever its dtype
 * (other dtypes must be refused as such). See {@link ReaderFuzzing} for what each input is checked for.
 */
@Timeout(value = ReaderFuzzing.TIMEOUT_SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SafetensorsFuzzTest {

  /** No model: the floats read are the only arrays, at most twice the data's bytes (F16 and BF16 widen). */
  private static final ReaderFuzzing FUZZING = new ReaderFuzzing("fuzz.safetensors", ReaderFuzzing.PER_BYTE, 0,
      CheckpointException.class);

  @FuzzTest(maxDuration = "5m")
  void openAndReadEveryTensor(byte[] input) throws IOException {
    FUZZING.check(input, null, path -> {
      try (Safetensors st = Safetensors.open(path)) {
        st.metadata().forEach((k, v) -> {});
        CheckpointException last = null;
        for (Safetensors.Tensor t : st.tensors().values()) {
          try {
            float[] values = st.readFloats(t.name());
            assertEquals(t.elements(), values.length, t.name());
          } catch (CheckpointException e) {
            if (t.dtype().readableAsFloat()) {
              throw e;
            }
            last = e; // another dtype: refused as such, and the other tensors are still read
          }
        }
        if (last != null) {
          throw last;
        }
      }
    });
  }
}
