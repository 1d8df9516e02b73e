package dev.unroll.runtime.format;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes {@link Json#parse}, the safetensors header's parser, with the input's bytes decoded as UTF-8 (malformed
 * bytes as U+FFFD, as a header that is not UTF-8 never reaches the parser): it returns a value or throws its
 * {@link Json.SyntaxException}, whose message says where, within the text. See {@link ReaderFuzzing} for the rest.
 */
@Timeout(value = ReaderFuzzing.TIMEOUT_SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class JsonFuzzTest {

  private static final ReaderFuzzing FUZZING = ReaderFuzzing.ofText("fuzz.json", ReaderFuzzing.PER_BYTE,
      Json.SyntaxException.class);

  private static final Pattern WHERE = Pattern.compile(" at character (\\d+)$");

  @FuzzTest(maxDuration = "5m")
  void parse(byte[] input) throws Exception {
    String text = new String(input, StandardCharsets.UTF_8);
    Throwable refused = FUZZING.check(input, null, path -> Json.parse(text));
    if (refused != null) {
      Matcher m = WHERE.matcher(refused.getMessage());
      assertTrue(m.find() && Long.parseLong(m.group(1)) <= text.length(), refused.getMessage());
    }
  }
}
