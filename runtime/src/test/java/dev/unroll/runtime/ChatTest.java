package dev.unroll.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.gpt2.Gpt2Shape;
import dev.unroll.runtime.Chat.Reply;
import dev.unroll.runtime.Chat.Stop;
import dev.unroll.runtime.Chat.Template;
import dev.unroll.runtime.sample.Samplers;
import dev.unroll.runtime.tokenizer.Llama2Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The conversation's bookkeeping, on a scripted model that records every token it decodes: which tokens each turn
 * adds under each template, that no turn decodes the conversation again, how replies stop, and that a turn that
 * does not fit changes nothing.
 */
class ChatTest {
  private static final int VOCAB = 259; // <unk>, <s>, </s> and the 256 byte tokens
  private static final int CONTEXT = 128;
  private static final int EOS = Llama2Tokenizer.EOS;

  @TempDir Path dir;
  private Llama2Tokenizer tokenizer;
  private ScriptedModel model;

  @BeforeEach
  void setUp() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(le().putInt(6).array());
    for (int id = 0; id < VOCAB; id++) {
      String piece = id == 0 ? "<unk>" : id == 1 ? "\n<s>\n" : id == 2 ? "\n</s>\n"
          : String.format("<0x%02X>", id - 3);
      byte[] b = piece.getBytes(StandardCharsets.US_ASCII);
      out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0f).putInt(b.length).array());
      out.writeBytes(b);
    }
    Path file = dir.resolve("tokenizer.bin");
    Files.write(file, out.toByteArray());
    tokenizer = Llama2Tokenizer.load(file, VOCAB);
    model = new ScriptedModel();
  }

  private static ByteBuffer le() {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
  }

  private Chat chat(Template template, String system) {
    return Chat.of(model, tokenizer, Samplers.of(0f, 1f, 0, 1, VOCAB), template, system);
  }

  /** The byte tokens of {@code text}, as the model would say them. */
  private static int[] says(String text) {
    return text.chars().map(c -> c + Llama2Tokenizer.BYTE_OFFSET).toArray();
  }

  private static int[] concat(int[]... parts) {
    return java.util.Arrays.stream(parts).flatMapToInt(java.util.Arrays::stream).toArray();
  }

  @Test
  void plainTurnsExtendOneSequenceAndAReplyAfterEosStartsWithBos() {
    Chat chat = chat(Template.PLAIN, null);
    model.script(concat(says("12"), new int[] {EOS}));
    StringBuilder text = new StringBuilder();
    Reply first = chat.reply("Hello", 10, text::append);
    int[] hello = tokenizer.encode("Hello", true, false);
    assertEquals(new Reply(hello.length, 3, Stop.END), first);
    assertEquals("12", text.toString());
    // the reply's last token (EOS) is held until the next turn decodes it
    assertArrayEquals(concat(hello, says("12")), model.decoded());
    assertEquals(hello.length + 3, chat.position());

    model.script(concat(says("34"), new int[] {EOS}));
    text.setLength(0);
    Reply second = chat.reply("again", 10, text::append);
    int[] again = tokenizer.encode("again", true, false); // a new text after EOS: BOS first
    assertEquals(new Reply(again.length, 3, Stop.END), second);
    assertEquals("34", text.toString());
    assertArrayEquals(concat(hello, says("12"), new int[] {EOS}, again, says("34")), model.decoded(),
        "the second turn decodes only what is new");
    assertEquals(1, model.resets, "one conversation, one reset");
  }

  @Test
  void aReplyCutAtTheLimitGoesOnAfterAnEmptyTurn() {
    Chat chat = chat(Template.PLAIN, null);
    model.script(concat(says("567890"), new int[] {EOS}));
    StringBuilder text = new StringBuilder();
    assertEquals(Stop.LIMIT, chat.reply("Go", 3, text::append).stop());
    assertEquals("567", text.toString());
    Reply more = chat.reply("", 10, text::append); // adds no text: the model goes on
    assertEquals(new Reply(0, 4, Stop.END), more);
    assertEquals("567890", text.toString());
    int[] go = tokenizer.encode("Go", true, false);
    assertArrayEquals(concat(go, says("567890")), model.decoded());

    // after EOS an empty turn is a new text: BOS alone
    model.script(says("1"));
    assertEquals(new Reply(1, 1, Stop.LIMIT), chat.reply("", 1, text::append));
    assertArrayEquals(concat(go, says("567890"), new int[] {EOS, Llama2Tokenizer.BOS}), model.decoded());
  }

  @Test
  void llama2WrapsTurnsInInstTagsWithTheSystemPromptFirst() {
    Chat chat = chat(Template.LLAMA2, "Be brief.");
    model.script(concat(says("12"), new int[] {EOS}));
    chat.reply("Hello", 10, s -> {});
    int[] first = tokenizer.encode("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello [/INST]", true, false);
    assertArrayEquals(concat(first, says("12")), model.decoded());
    model.script(concat(says("34"), new int[] {EOS}));
    Reply r = chat.reply("And?", 10, s -> {});
    int[] second = tokenizer.encode("[INST] And? [/INST]", true, false);
    assertEquals(second.length, r.promptTokens());
    assertArrayEquals(concat(first, says("12"), new int[] {EOS}, second, says("34")), model.decoded());

    chat.restart(); // a new conversation: the system prompt again
    model.script(new int[] {EOS});
    chat.reply("Hi", 10, s -> {});
    assertArrayEquals(tokenizer.encode("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]", true, false),
        model.decoded());
    assertEquals(2, model.resets, "restart resets the cache once, with the next turn");
  }

  @Test
  void aTurnThatDoesNotFitChangesNothingAndAFullContextEndsTheReply() {
    Chat chat = chat(Template.PLAIN, null);
    model.script(says("7".repeat(CONTEXT)));
    Reply r = chat.reply("Hi", 1000, s -> {});
    int[] hi = tokenizer.encode("Hi", true, false);
    // the prompt, then generated tokens decoded until the cache is full, then one more sampled
    assertEquals(new Reply(hi.length, CONTEXT - hi.length + 1, Stop.CONTEXT), r);
    assertEquals(CONTEXT, model.position());
    assertEquals(CONTEXT, chat.position());
    int[] before = model.decoded();
    IllegalStateException full = assertThrows(IllegalStateException.class, () -> chat.reply("", 5, s -> {}));
    assertTrue(full.getMessage().contains("do not fit in the 0 positions left of the context (128 tokens)"),
        full.getMessage());
    assertArrayEquals(before, model.decoded(), "nothing decoded");

    chat.restart();
    model.script(new int[] {EOS});
    String tooLong = "y".repeat(CONTEXT);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> chat.reply(tooLong, 5, s -> {}));
    assertTrue(e.getMessage().contains("this turn's " + (CONTEXT + 2) + " tokens do not fit"), e.getMessage());
    assertEquals(0, chat.position());
    assertEquals(new Reply(hi.length, 1, Stop.END), chat.reply("Hi", 5, s -> {}), "the chat still works");
  }

  @Test
  void charactersSplitAcrossByteTokensReachTheCallerWhole() {
    Chat chat = chat(Template.PLAIN, null);
    int[] e = bytes("é");
    model.script(concat(e, e, new int[] {EOS}));
    List<String> pieces = new ArrayList<>();
    chat.reply("Say", 10, pieces::add);
    assertEquals(List.of("é", "é"), pieces, "one piece per whole character");
    // a reply cut in the middle of a character ends with U+FFFD
    model.script(concat(bytes("€"), new int[] {EOS}));
    pieces.clear();
    assertEquals(Stop.LIMIT, chat.reply("More", 2, pieces::add).stop());
    assertEquals(List.of("\uFFFD"), pieces);
  }

  /** The byte-fallback tokens of {@code text}'s UTF-8 bytes. */
  private static int[] bytes(String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    return IntStream.range(0, b.length).map(i -> (b[i] & 0xff) + Llama2Tokenizer.BYTE_OFFSET).toArray();
  }

  @Test
  void badArgumentsAreRefused() throws IOException {
    assertThrows(IllegalArgumentException.class, () -> chat(Template.PLAIN, "system"));
    assertThrows(IllegalArgumentException.class, () -> chat(Template.PLAIN, null).reply("a", 0, s -> {}));
    model = new ScriptedModel(VOCAB + 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> chat(Template.PLAIN, ""));
    assertEquals("the tokenizer has 259 tokens, the model 260", e.getMessage());
  }

  /**
   * A model that records what it decodes and whose logits always point at the next token of its script; a token of
   * the script is used up when it is decoded (said back to the model). Replies are scripted in digits, which no
   * prompt here holds.
   */
  private static final class ScriptedModel implements CausalLm {
    private final ModelShape shape;
    private final float[] logits;
    private final ArrayDeque<Integer> script = new ArrayDeque<>();
    private final List<Integer> decoded = new ArrayList<>();
    private int position;
    int resets;

    ScriptedModel() {
      this(VOCAB);
    }

    ScriptedModel(int vocab) {
      shape = new Gpt2Shape(vocab, vocab, CONTEXT, 4, 1, 1, 1, 4);
      logits = new float[vocab];
    }

    void script(int[] tokens) {
      script.clear();
      IntStream.of(tokens).forEach(script::add);
    }

    int[] decoded() {
      return decoded.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public float[] decode(int token) {
      if (position == CONTEXT) {
        throw new IllegalStateException("full");
      }
      decoded.add(token);
      position++;
      if (!script.isEmpty() && script.peek() == token) {
        script.poll();
      }
      java.util.Arrays.fill(logits, 0f);
      logits[script.isEmpty() ? says("?")[0] : script.peek()] = 1f;
      return logits;
    }

    @Override
    public void reset() {
      decoded.clear();
      position = 0;
      resets++;
    }

    @Override
    public int position() {
      return position;
    }

    @Override
    public ModelShape shape() {
      return shape;
    }

    @Override
    public Backend backend() {
      return Backend.SCALAR;
    }

    @Override
    public float forward(int[] inputs, int[] targets) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void backward() {
      throw new UnsupportedOperationException();
    }

    @Override
    public void zeroGrad() {
      throw new UnsupportedOperationException();
    }

    @Override
    public float[] logits(int row, int position, float[] dst) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Parameters parameters() {
      throw new UnsupportedOperationException();
    }

    @Override
    public dev.unroll.runtime.format.Safetensors.Contents safetensors(Path path) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void loadParameters(Path path) {
      throw new UnsupportedOperationException();
    }
  }
}
