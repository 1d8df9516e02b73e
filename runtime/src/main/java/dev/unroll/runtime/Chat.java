package dev.unroll.runtime;

import dev.unroll.runtime.sample.Sampler;
import dev.unroll.runtime.tokenizer.Llama2Tokenizer;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A conversation with a model, turn by turn, over one KV cache: each {@link #reply} decodes the user's turn after
 * everything said so far and streams the model's answer, so no turn recomputes the ones before it. The cache holds
 * the whole conversation as one token sequence; when it cannot take a turn, {@link #reply} says so and
 * {@link #restart()} begins a new conversation.
 *
 * <p>How a turn becomes tokens is the {@link Template}: {@link Template#PLAIN} appends the text as it is (a model
 * trained on plain text continues it), {@link Template#LLAMA2} wraps it in Llama 2 chat's {@code [INST]} tags, the
 * system prompt in the first turn, as llama2.c's chat mode does. A reply ends when the model samples EOS, after
 * {@code maxTokens} tokens, or when the context is full.
 *
 * <p>Not thread-safe; the chat owns the model's cache while it is used (it calls {@link CausalLm#reset()} on the
 * first turn of each conversation).
 */
public final class Chat {

  /** How a user's turn is written into the token sequence. */
  public enum Template {
    /**
     * The text as it is, encoded with llama2.c's tokenizer (a leading space, as SentencePiece adds); BOS before
     * it when the conversation is empty or the model's last reply ended with EOS. No system prompt.
     */
    PLAIN,
    /**
     * {@code <s>[INST] text [/INST]}, with {@code <<SYS>>\nsystem\n<</SYS>>\n\n} before the text of the first
     * turn when there is a system prompt (Llama 2 chat's format).
     */
    LLAMA2
  }

  /** Why a reply ended. */
  public enum Stop {
    /** The model sampled EOS (which is not streamed as text). */
    END,
    /** It reached the caller's maximum number of tokens. */
    LIMIT,
    /** The context is full: nothing more can be decoded; {@link #restart()} to go on. */
    CONTEXT
  }

  /**
   * What a {@link #reply} did.
   *
   * @param promptTokens tokens of the user's turn decoded (the template's included)
   * @param tokens tokens the model generated (an EOS that ended the reply included)
   * @param stop why the reply ended
   */
  public record Reply(int promptTokens, int tokens, Stop stop) {}

  private final CausalLm model;
  private final Llama2Tokenizer tokenizer;
  private final Sampler sampler;
  private final Template template;
  private final String system;
  private final int vocab;
  private final int context;
  private final Llama2Tokenizer.TextStream stream;
  /** True until the first turn of a conversation is decoded. */
  private boolean empty = true;
  /** The last token the model generated, sampled but not yet decoded (the next turn decodes it first); or -1. */
  private int pending = -1;
  /** The last token in the sequence, decoded or pending: the one the next turn's text follows. */
  private int last = -1;

  private Chat(CausalLm model, Llama2Tokenizer tokenizer, Sampler sampler, Template template, String system) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.sampler = sampler;
    this.template = template;
    this.system = system;
    this.vocab = model.shape().vocab();
    this.context = model.shape().context();
    this.stream = tokenizer.stream();
  }

  /**
   * A conversation with {@code model}.
   *
   * @param system a system prompt for {@link Template#LLAMA2} (null or empty: none)
   * @throws IllegalArgumentException when the tokenizer's vocabulary is not the model's, or PLAIN is given a
   *     system prompt (it has no place for one)
   */
  public static Chat of(CausalLm model, Llama2Tokenizer tokenizer, Sampler sampler, Template template,
      String system) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(tokenizer, "tokenizer");
    Objects.requireNonNull(sampler, "sampler");
    Objects.requireNonNull(template, "template");
    if (tokenizer.vocabSize() != model.shape().vocab()) {
      throw new IllegalArgumentException("the tokenizer has " + tokenizer.vocabSize() + " tokens, the model "
          + model.shape().vocab());
    }
    String s = system == null ? "" : system;
    if (template == Template.PLAIN && !s.isEmpty()) {
      throw new IllegalArgumentException("the PLAIN template has no system prompt: use LLAMA2, or put it in the"
          + " first turn");
    }
    return new Chat(model, tokenizer, sampler, template, s);
  }

  /**
   * Positions of the context the conversation holds: its tokens so far, the last generated one included (it is
   * decoded at the start of the next turn).
   */
  public int position() {
    return empty ? 0 : Math.min(context, model.position() + (pending >= 0 ? 1 : 0));
  }

  /** Forgets the conversation: the next turn starts a new one (with the system prompt, if any) on an empty cache. */
  public void restart() {
    empty = true;
    pending = -1;
    last = -1;
  }

  /**
   * The tokens {@code text} adds to the conversation as the next user turn (the template applied). An empty text
   * in the middle of a conversation adds nothing, so the model goes on from where it stopped; after a reply that
   * ended with EOS, PLAIN starts a new text with BOS.
   */
  public int[] turnTokens(String text) {
    Objects.requireNonNull(text, "text");
    boolean fresh = empty || last == Llama2Tokenizer.EOS; // a new text: BOS first
    if (text.isEmpty() && !fresh) {
      return new int[0];
    }
    return switch (template) {
      case PLAIN -> tokenizer.encode(text, fresh, false);
      case LLAMA2 -> tokenizer.encode(empty && !system.isEmpty()
          ? "[INST] <<SYS>>\n" + system + "\n<</SYS>>\n\n" + text + " [/INST]"
          : "[INST] " + text + " [/INST]", true, false);
    };
  }

  /**
   * Decodes the user's turn after the conversation so far, then generates the model's reply: samples a token,
   * hands its text to {@code onText} (whole characters: the bytes of one split across byte-fallback tokens wait
   * for the rest; EOS and BOS give none), decodes it, and so on, until EOS, {@code maxTokens} tokens, or a full
   * context.
   *
   * @throws IllegalArgumentException when maxTokens is below 1
   * @throws IllegalStateException when the turn does not fit in the context left (nothing is decoded: call
   *     {@link #restart()}, or send a shorter turn)
   */
  public Reply reply(String text, int maxTokens, Consumer<String> onText) {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("maxTokens = " + maxTokens + " must be at least 1");
    }
    int[] turn = turnTokens(text);
    int used = empty ? 0 : model.position();
    if (used + turn.length + (pending >= 0 ? 1 : 0) > context) {
      throw new IllegalStateException("this turn's " + turn.length + " tokens do not fit in the " + (context
          - position()) + " positions left of the context (" + context + " tokens): restart() the conversation");
    }
    if (empty) {
      model.reset();
      empty = false;
    }
    float[] logits = null;
    if (pending >= 0) {
      logits = model.decode(pending);
      pending = -1;
    }
    for (int token : turn) {
      logits = model.decode(token);
    }
    last = turn.length > 0 ? turn[turn.length - 1] : last;
    int generated = 0;
    Stop stop = null;
    while (stop == null) {
      int next = sampler.sample(logits, vocab);
      generated++;
      int prev = last;
      last = next;
      pending = next;
      if (next == Llama2Tokenizer.EOS) {
        stop = Stop.END;
        break;
      }
      emit(stream.next(prev, next), onText);
      if (model.position() == context) {
        stop = Stop.CONTEXT;
      } else if (generated == maxTokens) {
        stop = Stop.LIMIT;
      } else {
        logits = model.decode(next);
        pending = -1;
      }
    }
    emit(stream.finish(), onText); // a character the reply left unfinished reads as U+FFFD
    return new Reply(turn.length, generated, stop);
  }

  private static void emit(String piece, Consumer<String> onText) {
    if (!piece.isEmpty()) {
      onText.accept(piece);
    }
  }

  @Override
  public String toString() {
    return "Chat[" + template + ", position " + position() + " of " + context + "]";
  }
}
