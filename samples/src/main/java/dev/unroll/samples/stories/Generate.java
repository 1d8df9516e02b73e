package dev.unroll.samples.stories;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.Chat;
import dev.unroll.runtime.DecodeWeights;
import dev.unroll.runtime.sample.Sampler;
import dev.unroll.runtime.sample.Samplers;
import dev.unroll.runtime.tokenizer.Llama2Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Streams text from a Llama model, as llama2.c's {@code run} does: a checkpoint, a tokenizer, a prompt, sampling
 * settings; prints tokens/s at the end.
 *
 * <pre>
 * Generate --model stories15M.bin --tokenizer tokenizer.bin --prompt "Once upon a time" \
 *          [--shape stories15M|stories110M] [--temperature 1.0] [--top-p 0.9] [--max-tokens N] [--seed S]
 *          [--backend SIMD|SCALAR|OPENCL] [--weights FLOAT32|BFLOAT16|INT8]
 *          [--chat [--template plain|llama2] [--system TEXT]]
 * </pre>
 *
 * Without {@code --model} the model has random weights (it says so); without {@code --tokenizer} tokens print as
 * numbers and the prompt is ignored (generation starts from BOS). {@code --weights} chooses how decoding reads the
 * weights ({@link DecodeWeights}: BFLOAT16 and INT8 are faster, slightly less exact copies).
 *
 * <p>{@code --chat} talks instead: it reads turns from standard input, one per line, and streams each reply
 * ({@link Chat}: one KV cache for the whole conversation, so no turn recomputes the ones before it). The prompt, if
 * any, is the first turn; {@code --max-tokens} bounds each reply; an empty line lets the model go on; the line
 * {@code /restart} starts a new conversation, as does a full context (it says so); end of input ends.
 */
public final class Generate {
  private Generate() {}

  public static void main(String[] args) {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.exit(run(args, in, System.out, System.err));
  }

  /** Runs with {@code args}, without standard input (no {@code --chat}). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, new BufferedReader(java.io.Reader.nullReader()), out, err);
  }

  /**
   * Runs with {@code args}, reading {@code --chat}'s turns from {@code in}; returns the exit status (0 done, 1
   * error, 2 bad command line).
   */
  public static int run(String[] args, BufferedReader in, PrintStream out, PrintStream err) {
    Path model = null;
    Path tokenizerFile = null;
    String prompt = "";
    String shape = "stories15M";
    float temperature = 1.0f;
    float topP = 0.9f;
    int maxTokens = Integer.MAX_VALUE; // until the context is full (or, chatting, EOS)
    long seed = System.nanoTime();
    Backend backend = Backend.SIMD;
    DecodeWeights weights = DecodeWeights.FLOAT32;
    boolean chat = false;
    Chat.Template template = null; // PLAIN unless --template says otherwise
    String system = "";
    try {
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (flag.equals("--help") || flag.equals("-h")) {
          out.println(usage());
          return 0;
        }
        if (flag.equals("--chat")) {
          chat = true;
          continue;
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
          case "--weights" -> weights = choice(DecodeWeights.values(), value, "--weights", "FLOAT32, BFLOAT16 or INT8");
          case "--template" -> template = choice(Chat.Template.values(), value, "--template", "plain or llama2");
          case "--system" -> system = value;
          default -> throw new IllegalArgumentException("unknown option " + flag);
        }
      }
      if (maxTokens < 1) {
        throw new IllegalArgumentException("--max-tokens must be at least 1");
      }
      if (chat && tokenizerFile == null) {
        throw new IllegalArgumentException("--chat needs --tokenizer: turns are text");
      }
      if (!chat && (template != null || !system.isEmpty())) {
        throw new IllegalArgumentException("--template and --system are for --chat");
      }
      if (!system.isEmpty() && template != Chat.Template.LLAMA2) {
        throw new IllegalArgumentException("--system needs --template llama2 (plain text has no place for it)");
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
      Sampler sampler = Samplers.of(temperature, topP, 0, seed, lm.shape().vocab());
      if (chat) {
        return chat(Chat.of(lm, tokenizer, sampler, template == null ? Chat.Template.PLAIN : template, system), prompt,
            maxTokens, in, out, err);
      }
      int[] promptTokens = tokenizer == null ? new int[] {Llama2Tokenizer.BOS} : tokenizer.encode(prompt, true,
          false);
      int budget = Math.min(maxTokens, lm.shape().context() - promptTokens.length);
      if (budget <= 0) {
        err.println("generate: the prompt fills the context of " + lm.shape().context() + " tokens");
        return 1;
      }
      if (budget < maxTokens && maxTokens != Integer.MAX_VALUE) {
        err.println("generate: the context holds " + lm.shape().context() + " tokens: " + budget
            + " new ones at most after the prompt's " + promptTokens.length);
      }
      if (tokenizer != null) {
        out.print(prompt);
      }
      int[] prev = {promptTokens[promptTokens.length - 1]};
      Llama2Tokenizer.TextStream text = tokenizer == null ? null : tokenizer.stream();
      long[] at = new long[budget]; // when each token came, for the rate over the second half
      int[] count = {0};
      long start = System.nanoTime();
      int generated = lm.generate(promptTokens, budget, sampler, token -> {
        at[count[0]++] = System.nanoTime();
        if (token == Llama2Tokenizer.EOS || token == Llama2Tokenizer.BOS) {
          prev[0] = token;
          return;
        }
        out.print(tokenizer == null ? token + " " : text.next(prev[0], token));
        out.flush();
        prev[0] = token;
      });
      double seconds = (System.nanoTime() - start) / 1e9;
      out.println(text == null ? "" : text.finish());
      err.printf(Locale.ROOT, "generate: %d tokens in %.2f s: %.1f tokens/s (prompt of %d tokens included in the"
          + " time)%n", generated, seconds, generated / seconds, promptTokens.length);
      if (generated >= 16) {
        // the first tokens run while the JIT compiles the kernels; the second half shows more of the compiled speed
        int half = generated / 2;
        double late = (at[generated - 1] - at[half - 1]) / 1e9;
        err.printf(Locale.ROOT, "generate: %.1f tokens/s over the last %d tokens (the JIT compiles the kernels"
            + " during the first ones)%n", (generated - half) / late, generated - half);
      }
      return 0;
    } catch (IOException | RuntimeException e) { // UnsupportedOperationException: INT8 on OPENCL
      err.println("generate: " + e.getMessage());
      return 1;
    }
  }

  /**
   * The conversation of {@code --chat}: the prompt (if any) and then each line of {@code in} as a turn, each reply
   * streamed to {@code out}; tokens/s over the time spent decoding (not waiting for input) at the end.
   */
  static int chat(Chat chat, String prompt, int maxTokens, BufferedReader in, PrintStream out, PrintStream err)
      throws IOException {
    err.println("generate: chat: one turn per line; an empty line lets the model go on, /restart starts over,"
        + " end of input ends");
    long nanos = 0;
    long generated = 0;
    long promptTokens = 0;
    String turn = prompt.isEmpty() ? null : prompt;
    if (turn != null) {
      out.println("> " + turn);
    }
    while (true) {
      if (turn == null) {
        out.print("> ");
        out.flush();
        turn = in.readLine();
        if (turn == null) {
          break;
        }
      }
      if (turn.strip().equals("/restart")) {
        chat.restart();
        err.println("generate: a new conversation");
        turn = null;
        continue;
      }
      long start = System.nanoTime();
      Chat.Reply reply;
      try {
        reply = chat.reply(turn, maxTokens, piece -> {
          out.print(piece);
          out.flush();
        });
      } catch (IllegalStateException e) { // the turn does not fit in what is left of the context
        err.println("generate: " + e.getMessage().replace(": restart() the conversation", "")
            + (chat.position() > 0 ? "; starting a new conversation" : ""));
        if (chat.position() == 0) {
          turn = null;
          continue;
        }
        chat.restart();
        continue; // the same turn again, in the new conversation
      }
      nanos += System.nanoTime() - start;
      generated += reply.tokens();
      promptTokens += reply.promptTokens();
      out.println();
      if (reply.stop() == Chat.Stop.CONTEXT) {
        err.println("generate: the context is full; the next turn starts a new conversation");
        chat.restart();
      }
      turn = null;
    }
    out.println();
    double seconds = nanos / 1e9;
    err.printf(Locale.ROOT, "generate: %d tokens in %.2f s of decoding: %.1f tokens/s (the turns' %d prompt tokens"
        + " included in the time)%n", generated, seconds, seconds > 0 ? generated / seconds : 0.0, promptTokens);
    return 0;
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

  /** The constant of {@code values} named {@code value}, in any case. */
  private static <E extends Enum<E>> E choice(E[] values, String value, String flag, String names) {
    for (E e : values) {
      if (e.name().equalsIgnoreCase(value)) {
        return e;
      }
    }
    throw new IllegalArgumentException("unknown " + flag + " " + value + ": " + names);
  }

  static String usage() {
    return "usage: Generate [--model FILE] [--tokenizer FILE] [--prompt TEXT] [--shape stories15M|stories110M]\n"
        + "                [--temperature T (0 = greedy, default 1)] [--top-p P (default 0.9)]\n"
        + "                [--max-tokens N (default: up to the context)] [--seed S] [--backend SIMD|SCALAR|OPENCL]\n"
        + "                [--weights FLOAT32|BFLOAT16|INT8 (default FLOAT32)]\n"
        + "                [--chat (turns from standard input) [--template plain|llama2] [--system TEXT]]";
  }
}
