package dev.unroll.samples.stories;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.Chat;
import dev.unroll.runtime.DecodeWeights;
import dev.unroll.runtime.sample.Sampler;
import dev.unroll.runtime.sample.Samplers;
import dev.unroll.runtime.tokenizer.Llama2Tokenizer;
import dev.unroll.samples.CommandLines;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

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
   * error, 2 bad command line). Every option and both files are checked before anything is printed or computed.
   */
  public static int run(String[] args, BufferedReader in, PrintStream out, PrintStream err) {
    Spec o;
    try {
      o = parse(args);
    } catch (CommandLines.UsageException e) {
      err.println("generate: " + e.getMessage());
      err.println();
      err.print(usage());
      return CommandLines.USAGE;
    }
    if (o.help) {
      out.print(usage());
      return CommandLines.OK;
    }
    for (Path file : new Path[] {o.model, o.tokenizer}) {
      if (file != null && !Files.isRegularFile(file)) {
        err.println("generate: " + file + ": no such file");
        return CommandLines.ERROR;
      }
    }
    long seed = o.seed != null ? o.seed : System.nanoTime();
    String prompt = o.prompt;
    int maxTokens = o.maxTokens;
    try {
      long opening = System.nanoTime();
      CausalLm lm = o.shape.open(o.backend, o.model, seed, err);
      lm.decodeWeights(o.weights);
      err.printf(Locale.ROOT, "generate: model ready in %.2f s, made for decoding only: weights %.1f MB, KV cache "
          + "%.1f MB%n", (System.nanoTime() - opening) / 1e9, 4e-6 * lm.parameters().count(), o.shape.kvBytes() / 1e6);
      Llama2Tokenizer tokenizer = o.tokenizer == null ? null : Llama2Tokenizer.load(o.tokenizer,
          lm.shape().vocab());
      if (tokenizer == null) {
        err.println("generate: no --tokenizer: printing token ids, starting from BOS");
      }
      Sampler sampler = Samplers.of(o.temperature, o.topP, 0, seed, lm.shape().vocab());
      if (o.chat) {
        return chat(Chat.of(lm, tokenizer, sampler, o.template == null ? Chat.Template.PLAIN : o.template, o.system),
            prompt, maxTokens, in, out, err);
      }
      int[] promptTokens = tokenizer == null ? new int[] {Llama2Tokenizer.BOS} : tokenizer.encode(prompt, true,
          false);
      int budget = Math.min(maxTokens, lm.shape().context() - promptTokens.length);
      if (budget <= 0) {
        err.println("generate: the prompt fills the context of " + lm.shape().context() + " tokens");
        return CommandLines.ERROR;
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
          + " time); the first token came %.2f s after the start of loading%n", generated, seconds, generated / seconds,
          promptTokens.length, generated > 0 ? (at[0] - opening) / 1e9 : Double.NaN);
      if (generated >= 16) {
        // the first tokens run while the JIT compiles the kernels; the second half shows more of the compiled speed
        int half = generated / 2;
        double late = (at[generated - 1] - at[half - 1]) / 1e9;
        err.printf(Locale.ROOT, "generate: %.1f tokens/s over the last %d tokens (the JIT compiles the kernels"
            + " during the first ones)%n", (generated - half) / late, generated - half);
      }
      return CommandLines.OK;
    } catch (IOException | RuntimeException e) { // UnsupportedOperationException: INT8 on OPENCL
      err.println("generate: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
      return CommandLines.ERROR;
    }
  }

  /** Parses {@code args} and checks the options that depend on each other. */
  static Spec parse(String[] args) throws CommandLines.UsageException {
    Spec o = new Spec();
    o.help = CommandLines.parse(o, args).isUsageHelpRequested();
    if (o.chat && o.tokenizer == null) {
      throw new CommandLines.UsageException("--chat needs --tokenizer: turns are text");
    }
    if (!o.chat && (o.template != null || !o.system.isEmpty())) {
      throw new CommandLines.UsageException("--template and --system are for --chat");
    }
    if (!o.system.isEmpty() && o.template != Chat.Template.LLAMA2) {
      throw new CommandLines.UsageException("--system needs --template llama2 (plain text has no place for it)");
    }
    return o;
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

  /** The shapes of llama2.c's stories checkpoints that the CLI knows. */
  enum Shape {
    STORIES15M,
    STORIES110M;

    /**
     * The model of this shape, made for decoding only (no gradients or training activations), from {@code file} or,
     * without one, randomly initialised (it says so).
     */
    CausalLm open(Backend backend, Path file, long seed, PrintStream err) throws IOException {
      if (file == null) {
        err.println("generate: no --model: using random weights (seed " + seed + "); the text will be noise");
      }
      return switch (this) {
        case STORIES15M -> file == null ? UnrolledStories15M.createForDecoding(backend, seed)
            : UnrolledStories15M.loadForDecoding(backend, file);
        case STORIES110M -> file == null ? UnrolledStories110M.createForDecoding(backend, seed)
            : UnrolledStories110M.loadForDecoding(backend, file);
      };
    }

    /** Bytes of this shape's KV cache. */
    long kvBytes() {
      return 4L * switch (this) {
        case STORIES15M -> UnrolledStories15M.KV_COUNT;
        case STORIES110M -> UnrolledStories110M.KV_COUNT;
      };
    }
  }

  /** The options as picocli reads them, with their defaults. */
  @Command(name = "Generate", sortOptions = false,
      description = {
          "Streams text from a llama2.c checkpoint (random weights without --model, token ids without",
          "--tokenizer), then prints tokens/s. --chat reads turns from standard input instead.", ""},
      footer = {"", "Exit status: 0 done, 1 error, 2 bad command line."})
  static final class Spec {
    @Option(names = "--model", paramLabel = "FILE", converter = CommandLines.FileName.class,
        description = "llama2.c checkpoint (.bin) or safetensors; without it, random weights")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE", converter = CommandLines.FileName.class,
        description = "llama2.c's tokenizer.bin; without it, tokens print as numbers and the prompt is ignored")
    Path tokenizer;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "the start of the text (or the first turn)")
    String prompt = "";

    @Option(names = "--shape", paramLabel = "NAME", description = "stories15M (default) or stories110M, in any case")
    Shape shape = Shape.STORIES15M;

    @Option(names = "--temperature", paramLabel = "T", converter = CommandLines.NonNegativeNumber.class,
        description = "sampling temperature, >= 0; 0 is greedy (default 1)")
    float temperature = 1.0f;

    @Option(names = "--top-p", paramLabel = "P", converter = CommandLines.Probability.class,
        description = "nucleus sampling's probability mass, in (0, 1]; 1 turns it off (default 0.9)")
    float topP = 0.9f;

    @Option(names = "--max-tokens", paramLabel = "N", converter = CommandLines.PositiveInt.class,
        description = "new tokens at most, at least 1 (default: up to the context; chatting, per reply)")
    int maxTokens = Integer.MAX_VALUE;

    @Option(names = "--seed", paramLabel = "S", converter = CommandLines.WholeNumber.class,
        description = "seed of random weights and sampling (default: the clock)")
    Long seed;

    @Option(names = "--backend", paramLabel = "NAME", description = "SCALAR, SIMD (default) or OPENCL")
    Backend backend = Backend.SIMD;

    @Option(names = "--weights", paramLabel = "NAME",
        description = "how decoding reads the weights: FLOAT32 (default), BFLOAT16 or INT8")
    DecodeWeights weights = DecodeWeights.FLOAT32;

    @Option(names = "--chat", description = "talk: one turn per line of standard input")
    boolean chat;

    @Option(names = "--template", paramLabel = "NAME",
        description = "with --chat: PLAIN (default; the text as it is) or LLAMA2 ([INST] ... [/INST])")
    Chat.Template template;

    @Option(names = "--system", paramLabel = "TEXT", description = "with --chat --template llama2: a system prompt")
    String system = "";

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "print this")
    boolean help;
  }

  /** The usage that {@code --help} prints and a usage error follows with. */
  static String usage() {
    return CommandLines.usage(new Spec());
  }
}
