package dev.unroll.samples.stories;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.DecodeWeights;
import dev.unroll.runtime.sample.Sampler;
import dev.unroll.runtime.sample.Samplers;
import dev.unroll.runtime.tokenizer.Llama2Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Streams text from a Llama model, as llama2.c's {@code run} does: a checkpoint, a tokenizer, a prompt, sampling
 * settings; prints tokens/s at the end.
 *
 * <pre>
 * Generate --model stories15M.bin --tokenizer tokenizer.bin --prompt "Once upon a time" \
 *          [--shape stories15M|stories110M] [--temperature 1.0] [--top-p 0.9] [--max-tokens 256] [--seed S]
 *          [--backend SIMD|SCALAR|OPENCL] [--weights FLOAT32|BFLOAT16|INT8]
 * </pre>
 *
 * Without {@code --model} the model has random weights (it says so); without {@code --tokenizer} tokens print as
 * numbers and the prompt is ignored (generation starts from BOS). {@code --weights} chooses how decoding reads the
 * weights ({@link DecodeWeights}: BFLOAT16 and INT8 are faster, slightly less exact copies).
 */
public final class Generate {
  private Generate() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs with {@code args}; returns the exit status (0 done, 1 error, 2 bad command line). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    Path model = null;
    Path tokenizerFile = null;
    String prompt = "";
    String shape = "stories15M";
    float temperature = 1.0f;
    float topP = 0.9f;
    int maxTokens = 256;
    long seed = System.nanoTime();
    Backend backend = Backend.SIMD;
    DecodeWeights weights = DecodeWeights.FLOAT32;
    try {
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (flag.equals("--help") || flag.equals("-h")) {
          out.println(usage());
          return 0;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(flag + " needs a value");
        }
        String value = args[++i];
        switch (flag) {
          case "--model" -> model = Path.of(value);
          case "--tokenizer" -> tokenizerFile = Path.of(value);
          case "--prompt" -> prompt = value;
          case "--shape" -> shape = value;
          case "--temperature" -> temperature = Float.parseFloat(value);
          case "--top-p" -> topP = Float.parseFloat(value);
          case "--max-tokens" -> maxTokens = Integer.parseInt(value);
          case "--seed" -> seed = Long.parseLong(value);
          case "--backend" -> backend = Backend.valueOf(value.toUpperCase(Locale.ROOT));
          case "--weights" -> weights = weightsOf(value);
          default -> throw new IllegalArgumentException("unknown option " + flag);
        }
      }
      if (maxTokens < 1) {
        throw new IllegalArgumentException("--max-tokens must be at least 1");
      }
    } catch (IllegalArgumentException e) {
      err.println("generate: " + e.getMessage());
      err.println(usage());
      return 2;
    }
    try {
      CausalLm lm = open(shape, backend, model, seed, err);
      lm.decodeWeights(weights);
      Llama2Tokenizer tokenizer = tokenizerFile == null ? null : Llama2Tokenizer.load(tokenizerFile,
          lm.shape().vocab());
      if (tokenizer == null) {
        err.println("generate: no --tokenizer: printing token ids, starting from BOS");
      }
      int[] promptTokens = tokenizer == null ? new int[] {Llama2Tokenizer.BOS} : tokenizer.encode(prompt, true,
          false);
      Sampler sampler = Samplers.of(temperature, topP, 0, seed, lm.shape().vocab());
      int budget = Math.min(maxTokens, lm.shape().context() - promptTokens.length);
      if (budget <= 0) {
        err.println("generate: the prompt fills the context of " + lm.shape().context() + " tokens");
        return 1;
      }
      if (tokenizer != null) {
        out.print(prompt);
      }
      int[] prev = {promptTokens[promptTokens.length - 1]};
      long start = System.nanoTime();
      int generated = lm.generate(promptTokens, budget, sampler, token -> {
        if (token == Llama2Tokenizer.EOS || token == Llama2Tokenizer.BOS) {
          prev[0] = token;
          return;
        }
        out.print(tokenizer == null ? token + " " : tokenizer.decode(prev[0], token));
        out.flush();
        prev[0] = token;
      });
      double seconds = (System.nanoTime() - start) / 1e9;
      out.println();
      err.printf(Locale.ROOT, "generate: %d tokens in %.2f s: %.1f tokens/s (prompt of %d tokens included in the"
          + " time)%n", generated, seconds, generated / seconds, promptTokens.length);
      return 0;
    } catch (IOException | RuntimeException e) { // UnsupportedOperationException: INT8 on OPENCL
      err.println("generate: " + e.getMessage());
      return 1;
    }
  }

  /** The model of {@code shape}, from {@code file} or, without one, randomly initialised. */
  static CausalLm open(String shape, Backend backend, Path file, long seed, PrintStream err) throws IOException {
    if (file != null && !Files.isRegularFile(file)) {
      throw new IOException(file + ": no such file");
    }
    if (file == null) {
      err.println("generate: no --model: using random weights (seed " + seed + "); the text will be noise");
    }
    return switch (shape) {
      case "stories15M" -> file == null ? UnrolledStories15M.create(backend, seed)
          : UnrolledStories15M.load(backend, file);
      case "stories110M" -> file == null ? UnrolledStories110M.create(backend, seed)
          : UnrolledStories110M.load(backend, file);
      default -> throw new IllegalArgumentException("unknown --shape " + shape + ": stories15M or stories110M");
    };
  }

  private static DecodeWeights weightsOf(String value) {
    for (DecodeWeights w : DecodeWeights.values()) {
      if (w.name().equalsIgnoreCase(value)) {
        return w;
      }
    }
    throw new IllegalArgumentException("unknown --weights " + value + ": FLOAT32, BFLOAT16 or INT8");
  }

  static String usage() {
    return "usage: Generate [--model FILE] [--tokenizer FILE] [--prompt TEXT] [--shape stories15M|stories110M]\n"
        + "                [--temperature T (0 = greedy, default 1)] [--top-p P (default 0.9)]\n"
        + "                [--max-tokens N (default 256)] [--seed S] [--backend SIMD|SCALAR|OPENCL]\n"
        + "                [--weights FLOAT32|BFLOAT16|INT8 (default FLOAT32)]";
  }
}
