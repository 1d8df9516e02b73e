package dev.unroll.samples.stories;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.DecodeWeights;
import dev.unroll.runtime.llama.LlamaCheckpoints;
import dev.unroll.runtime.tokenizer.Llama2Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The stories sample end to end, on a llama2.c checkpoint and a tokenizer this test writes: greedy generation is
 * the argmax of decode at every step, streamed as text.
 */
class GenerateTest {
  @TempDir Path dir;

  @Test
  void greedyStoryFromACheckpointTheTestWrote() throws IOException {
    Stories15M model = UnrolledStories15M.create(Backend.SIMD, 2024);
    Path checkpoint = dir.resolve("stories15M.bin");
    LlamaCheckpoints.saveLlama2c(model.parameters(), UnrolledStories15M.SHAPE, checkpoint);
    Path tokenizer = writeTokenizer(dir.resolve("tokenizer.bin"), 32000);

    String first = generate(checkpoint, tokenizer);
    String second = generate(checkpoint, tokenizer);
    assertEquals(first, second, "greedy generation is deterministic");
    System.out.println("greedy stories15M text on the test's checkpoint: " + first);

    // The same tokens, computed directly: argmax of decode after the prompt.
    Llama2Tokenizer tok = Llama2Tokenizer.load(tokenizer, 32000);
    int[] prompt = tok.encode("Once upon", true, false);
    String expected = greedy(model, tok, prompt);
    assertEquals(expected, first);

    // int8 and bfloat16 weights: the same command with --weights, the same tokens computed directly
    for (DecodeWeights format : new DecodeWeights[] {DecodeWeights.INT8, DecodeWeights.BFLOAT16}) {
      String text = generate(checkpoint, tokenizer, "--weights", format.name().toLowerCase(java.util.Locale.ROOT));
      System.out.println("greedy stories15M text, " + format + " weights: " + text);
      model.decodeWeights(format);
      assertEquals(greedy(model, tok, prompt), text, format.name());
    }
    model.decodeWeights(DecodeWeights.FLOAT32);
  }

  @Test
  void chatKeepsOneConversationAcrossTurns() throws IOException {
    Stories15M model = UnrolledStories15M.create(Backend.SIMD, 7);
    // At initialisation the residual stream is mostly the current token's embedding, so greedy text hardly depends
    // on what came before; larger weights make attention matter, so that replies tell conversations apart.
    float[] values = model.parameters().values();
    for (int i = 0; i < values.length; i++) {
      values[i] *= 6f;
    }
    Path checkpoint = dir.resolve("chat.bin");
    LlamaCheckpoints.saveLlama2c(model.parameters(), UnrolledStories15M.SHAPE, checkpoint);
    Path tokenizer = writeTokenizer(dir.resolve("tokenizer.bin"), 32000);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String tooLong = "ta ".repeat(300); // more tokens than the context holds: refused, and the chat goes on
    java.io.BufferedReader in = new java.io.BufferedReader(new java.io.StringReader("there was\n" + tooLong
        + "\n/restart\nthe end\n"));
    int status = Generate.run(new String[] {"--model", checkpoint.toString(), "--tokenizer", tokenizer.toString(),
        "--prompt", "Once upon", "--temperature", "0", "--max-tokens", "6", "--chat"}, in, new PrintStream(out),
        new PrintStream(err));
    assertEquals(0, status, err.toString());

    // the same conversation, computed directly: each turn's tokens after everything before it, greedy replies
    Llama2Tokenizer tok = Llama2Tokenizer.load(tokenizer, 32000);
    model.reset();
    int[] last = {-1};
    String r1 = reply(model, tok, tok.encode("Once upon", true, false), last);
    String r2 = reply(model, tok, concat(last[0], tok.encode("there was", false, false)), last);
    model.reset();
    String r3 = reply(model, tok, tok.encode("the end", true, false), last);
    // prompts "> " for each line read: the long one and /restart print nothing but messages on stderr
    assertEquals("> Once upon\n" + r1 + "\n> " + r2 + "\n> > > " + r3 + "\n> \n",
        out.toString(StandardCharsets.UTF_8));
    String log = err.toString();
    assertTrue(log.contains("tokens do not fit in the"), log);
    assertTrue(log.contains("a new conversation"), log);
    assertTrue(log.contains("18 tokens in"), log);

    assertEquals(2, Generate.run(new String[] {"--chat"}, new PrintStream(out), new PrintStream(err)));
    assertTrue(err.toString().contains("--chat needs --tokenizer"), err.toString());
    assertEquals(2, Generate.run(new String[] {"--chat", "--tokenizer", tokenizer.toString(), "--system", "Be nice"},
        new PrintStream(out), new PrintStream(err)));
    assertTrue(err.toString().contains("--system needs --template llama2"), err.toString());
    assertEquals(2, Generate.run(new String[] {"--template", "llama2"}, new PrintStream(out), new PrintStream(err)));
    assertTrue(err.toString().contains("--template and --system are for --chat"), err.toString());
    assertEquals(2, Generate.run(new String[] {"--chat", "--template", "alpaca"}, new PrintStream(out),
        new PrintStream(err)));
    assertTrue(err.toString().contains("invalid value for --template: expected one of [PLAIN, LLAMA2] "
        + "(case-insensitive) but was 'alpaca'"), err.toString());
  }

  /** A chat reply computed directly: {@link #greedy} for six tokens, none of them BOS or EOS, as text. */
  private static String reply(Stories15M model, Llama2Tokenizer tok, int[] tokens, int[] last) {
    int[] ids = greedy(model, tokens, 6);
    for (int id : ids) {
      assertTrue(id != Llama2Tokenizer.EOS && id != Llama2Tokenizer.BOS, "a control token: pick another seed");
    }
    last[0] = ids[ids.length - 1];
    return text(tok, tokens[tokens.length - 1], ids);
  }

  private static int[] concat(int first, int[] rest) {
    int[] all = new int[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  @Test
  void withoutAModelItSaysSoAndBadFlagsAreUsageErrors() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Generate.run(new String[] {"--max-tokens", "3", "--temperature", "0"}, new PrintStream(out),
        new PrintStream(err));
    assertEquals(0, status);
    assertTrue(err.toString().contains("using random weights"), err.toString());
    assertTrue(err.toString().contains("tokens/s"), err.toString());
    // stories15M: 4 bytes per parameter; keys and values of 6 layers x 256 positions x 288 floats
    String memory = String.format(java.util.Locale.ROOT, "made for decoding only: weights %.1f MB, KV cache 3.5 MB",
        4e-6 * UnrolledStories15M.PARAMETER_COUNT);
    assertTrue(err.toString().contains(memory), err.toString());
    assertTrue(err.toString().matches("(?s).*the first token came [0-9.]+ s after the start of loading.*"),
        err.toString());
    assertEquals(2, Generate.run(new String[] {"--bogus", "1"}, new PrintStream(out), new PrintStream(err)));
    assertEquals(2, Generate.run(new String[] {"--weights", "fp64"}, new PrintStream(out), new PrintStream(err)));
    assertTrue(err.toString().contains("invalid value for --weights: expected one of [FLOAT32, BFLOAT16, INT8]"),
        err.toString());
    assertEquals(1, Generate.run(new String[] {"--model", dir.resolve("missing.bin").toString()},
        new PrintStream(out), new PrintStream(err)));
  }

  /**
   * Every bad command line: exit status 2, a message naming the option or argument and what is accepted, the usage,
   * no stack trace, and nothing else: no "random weights" line, nothing on standard output.
   */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--frobnicate                         | unknown option: --frobnicate",
      "--max-tokens 3 --frobnicate          | unknown option: --frobnicate",
      "--bogus 1                            | unknown option: --bogus",
      "--temprature 0                       | unknown option: --temprature (did you mean --temperature",
      "stray                                | unexpected argument: stray",
      "--prompt Once upon                   | unexpected argument: upon",
      "--temperature abc                    | invalid value for --temperature: 'abc' is not a number >= 0",
      "--temperature -1                     | invalid value for --temperature: '-1' is not a number >= 0",
      "--top-p 2                            | invalid value for --top-p: '2' is not a number in (0, 1]",
      "--top-p 0                            | invalid value for --top-p: '0' is not a number in (0, 1]",
      "--max-tokens 0                       | invalid value for --max-tokens: '0' is not a positive whole number",
      "--seed x                             | invalid value for --seed: 'x' is not a whole number",
      "--backend gpu                        | invalid value for --backend: expected one of [SCALAR, SIMD, OPENCL]",
      "--shape stories7M                    | invalid value for --shape: expected one of [STORIES15M, STORIES110M]",
      "--weights fp64                       | invalid value for --weights: expected one of [FLOAT32, BFLOAT16, INT8]",
      "--chat --template alpaca             | invalid value for --template: expected one of [PLAIN, LLAMA2]",
      "--model=                             | invalid value for --model: '' is not a file name",
      "--chat                               | --chat needs --tokenizer",
      "--template llama2                    | --template and --system are for --chat"})
  void usageErrorsNameTheOptionAndComeFirst(String line, String message) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Generate.run(line.split(" "), new PrintStream(out), new PrintStream(err));
    String log = err.toString(StandardCharsets.UTF_8);
    assertEquals(2, status, log);
    assertTrue(log.startsWith("generate: " + message), log);
    assertTrue(log.contains("\n\nUsage: Generate "), log);
    assertFalse(log.contains("using random weights") || log.contains("Exception"), log);
    assertEquals("", out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void helpAndCaseInsensitiveValues() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, Generate.run(new String[] {"--help"}, new PrintStream(out), new PrintStream(err)));
    String usage = out.toString(StandardCharsets.UTF_8);
    assertTrue(usage.startsWith("Usage: Generate "), usage);
    for (String option : new String[] {"--model", "--tokenizer", "--prompt", "--shape", "--temperature", "--top-p",
        "--max-tokens", "--seed", "--backend", "--weights", "--chat", "--template", "--system"}) {
      assertTrue(usage.contains(option), option);
    }
    assertEquals("", err.toString());
    Path tokenizer = writeTokenizer(dir.resolve("tokenizer.bin"), 32000);
    Generate.Spec spec = Generate.parse(new String[] {"--shape", "STORIES110m", "--backend", "scalar", "--weights",
        "bfloat16", "--chat", "--tokenizer", tokenizer.toString(), "--template", "Llama2", "--system", "Be brief",
        "--top-p", "1", "--temperature", "0"});
    assertEquals(Generate.Shape.STORIES110M, spec.shape);
    assertEquals(Backend.SCALAR, spec.backend);
    assertEquals(DecodeWeights.BFLOAT16, spec.weights);
    assertEquals(dev.unroll.runtime.Chat.Template.LLAMA2, spec.template);
    assertEquals("Be brief", spec.system);
    assertEquals(1f, spec.topP);
    assertEquals(0f, spec.temperature);
  }

  @Test
  void aMissingFileIsAnErrorBeforeAnythingElse() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Path missing = dir.resolve("tokenizer.bin");
    assertEquals(1, Generate.run(new String[] {"--tokenizer", missing.toString()}, new PrintStream(out),
        new PrintStream(err)));
    assertEquals("generate: " + missing + ": no such file\n", err.toString(StandardCharsets.UTF_8));
    assertEquals("", out.toString(StandardCharsets.UTF_8));
  }

  /** Twelve greedy tokens after {@code prompt}, as text after "Once upon". */
  private static String greedy(Stories15M model, Llama2Tokenizer tok, int[] prompt) {
    model.reset();
    return "Once upon" + text(tok, prompt[prompt.length - 1], greedy(model, prompt, 12));
  }

  /** Decodes {@code tokens} after what the model holds, then {@code n} argmax tokens (the last left undecoded). */
  private static int[] greedy(Stories15M model, int[] tokens, int n) {
    float[] logits = null;
    for (int t : tokens) {
      logits = model.decode(t);
    }
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = argmax(logits);
      if (i < n - 1) {
        logits = model.decode(ids[i]);
      }
    }
    return ids;
  }

  /** The text of {@code ids} after {@code prev}, as the CLI streams it (BOS and EOS give none). */
  private static String text(Llama2Tokenizer tok, int prev, int[] ids) {
    StringBuilder text = new StringBuilder();
    for (int id : ids) {
      if (id != Llama2Tokenizer.EOS && id != Llama2Tokenizer.BOS) {
        text.append(tok.decode(prev, id));
      }
      prev = id;
    }
    return text.toString();
  }

  private static String generate(Path checkpoint, Path tokenizer, String... more) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] args = {"--model", checkpoint.toString(), "--tokenizer", tokenizer.toString(), "--prompt", "Once upon",
        "--temperature", "0", "--max-tokens", "12"};
    String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
    System.arraycopy(more, 0, all, args.length, more.length);
    int status = Generate.run(all, new PrintStream(out), new PrintStream(err));
    assertEquals(0, status, err.toString());
    return out.toString(StandardCharsets.UTF_8).strip();
  }

  private static int argmax(float[] logits) {
    int best = 0;
    for (int i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * A tokenizer.bin of {@code vocab} tokens in llama2.c's layout: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256
   * byte tokens, then short words and syllables (so that greedy text reads as text).
   */
  static Path writeTokenizer(Path file, int vocab) throws IOException {
    String[] syllables = {"a", "e", "i", "o", "u", "n", "s", "t", "r", "l", "m", "d", "k", "p", "b"};
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writeInt(out, 16);
      for (int id = 0; id < vocab; id++) {
        String piece;
        if (id == 0) {
          piece = "<unk>";
        } else if (id == 1) {
          piece = "\n<s>\n";
        } else if (id == 2) {
          piece = "\n</s>\n";
        } else if (id < 259) {
          piece = String.format("<0x%02X>", id - 3);
        } else {
          int k = id - 259;
          // k written in base 15 with letters as digits: every piece differs.
          StringBuilder w = new StringBuilder(k % 3 == 0 ? " " : "");
          for (int rest = k, n = 0; n < 2 || rest > 0; rest /= 15, n++) {
            w.append(syllables[rest % 15]);
          }
          piece = w.toString();
        }
        byte[] b = piece.getBytes(StandardCharsets.UTF_8);
        writeFloat(out, id < 259 ? 0f : -id);
        writeInt(out, b.length);
        out.write(b);
      }
    }
    Files.write(file, bytes.toByteArray());
    return file;
  }

  private static void writeInt(DataOutputStream out, int v) throws IOException {
    out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
  }

  private static void writeFloat(DataOutputStream out, float v) throws IOException {
    out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
  }
}
