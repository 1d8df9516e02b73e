package dev.unroll.runtime.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.gpt2.Gpt2Shape;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.gpt2.Gpt2Layout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.function.Executable;

/**
 * Helpers shared by the format tests: random parameters, hand-made safetensors files, failure assertions, logits
 * compared across contexts.
 */
public final class TestFiles {

  private TestFiles() {}

  /** The awkward shape the tests use: V=97 padded to 112, T=13, C=48, NH=3, L=2, hidden=192. */
  public static final Gpt2Shape SHAPE = new Gpt2Shape(97, 112, 13, 48, 3, 2, 4, 192);

  /** Parameters laid out for {@code s}, every value (padding rows included) random. */
  public static Parameters randomParameters(Gpt2Shape s, long seed) {
    return randomParameters(Gpt2Layout.tensors(s), seed);
  }

  /** Parameters with this layout, every value random in [-1, 1). */
  public static Parameters randomParameters(List<dev.unroll.runtime.ParamTensor> layout, long seed) {
    int n = layout.getLast().offset() + layout.getLast().size();
    float[] values = new float[n];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      values[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return new Parameters(values, new float[n], layout);
  }

  /** The values {@code p} holds, with the padding rows of wte set to zero (what a load yields). */
  public static float[] withZeroPadding(Parameters p, Gpt2Shape s) {
    float[] v = p.values().clone();
    java.util.Arrays.fill(v, s.vocab() * s.dim(), s.paddedVocab() * s.dim(), 0f);
    return v;
  }

  /** One tensor of a hand-made safetensors file. */
  public record Raw(String name, String dtype, long[] shape, byte[] bytes) {}

  /** Writes a safetensors file by hand, tensors contiguous in the order given. */
  public static void writeRaw(Path path, Map<String, String> metadata, List<Raw> tensors) throws IOException {
    StringBuilder json = new StringBuilder("{");
    if (!metadata.isEmpty()) {
      json.append("\"__metadata__\":{");
      List<String> kv = new ArrayList<>();
      metadata.forEach((k, v) -> kv.add(Json.quote(k) + ":" + Json.quote(v)));
      json.append(String.join(",", kv)).append("}");
    }
    long offset = 0;
    var data = new java.io.ByteArrayOutputStream();
    for (Raw t : tensors) {
      if (json.length() > 1) {
        json.append(',');
      }
      json.append(Json.quote(t.name())).append(":{\"dtype\":\"").append(t.dtype()).append("\",\"shape\":")
          .append(java.util.Arrays.toString(t.shape()).replace(" ", "")).append(",\"data_offsets\":[")
          .append(offset).append(',').append(offset + t.bytes().length).append("]}");
      offset += t.bytes().length;
      data.writeBytes(t.bytes());
    }
    json.append('}');
    writeRaw(path, json.toString(), data.toByteArray());
  }

  /** Writes the 8-byte length, {@code json} (UTF-8, unpadded) and {@code data}. */
  public static void writeRaw(Path path, String json, byte[] data) throws IOException {
    byte[] header = json.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(header.length).put(header).put(data);
    Files.write(path, b.array());
  }

  public static byte[] f32(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      b.putFloat(x);
    }
    return b.array();
  }

  public static byte[] f16(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      b.putShort(Float.floatToFloat16(x));
    }
    return b.array();
  }

  /** bfloat16 by truncation (what the reader must undo exactly). */
  public static byte[] bf16(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      b.putShort((short) (Float.floatToRawIntBits(x) >>> 16));
    }
    return b.array();
  }

  /** {@code x} as bfloat16 by truncation, back in float. */
  public static float bf16Round(float x) {
    return Float.intBitsToFloat(Float.floatToRawIntBits(x) & 0xffff0000);
  }

  /**
   * Runs {@code action}, expects {@code type}, and checks that the message starts with the path and contains
   * every fragment; returns the message.
   */
  public static String assertFails(Class<? extends Throwable> type, Path path, Executable action, String... fragments) {
    Throwable t = assertThrows(type, action);
    String m = t.getMessage();
    assertTrue(m.startsWith(path.toString() + ": "), () -> "message does not start with the path: " + m);
    for (String f : fragments) {
      assertTrue(m.contains(f), () -> "message lacks \"" + f + "\": " + m);
    }
    return m;
  }

  /**
   * Runs both models on random tokens (seeded), row b of {@code model}'s input being the first positions of row b
   * of {@code longModel}'s, and checks that every logit of {@code model} equals the long model's at the same
   * position, bit for bit.
   */
  public static void assertSamePrefixLogits(CausalLm longModel, CausalLm model, long seed, String what) {
    ModelShape longShape = longModel.shape();
    ModelShape s = model.shape();
    SplittableRandom r = new SplittableRandom(seed);
    int[] longTokens = new int[longShape.batch() * longShape.context()];
    for (int i = 0; i < longTokens.length; i++) {
      longTokens[i] = r.nextInt(longShape.vocab());
    }
    int[] tokens = new int[s.batch() * s.context()];
    for (int b = 0; b < s.batch(); b++) {
      System.arraycopy(longTokens, b * longShape.context(), tokens, b * s.context(), s.context());
    }
    longModel.forward(longTokens, null);
    model.forward(tokens, null);
    for (int b = 0; b < s.batch(); b++) {
      for (int t = 0; t < s.context(); t++) {
        assertArrayEquals(longModel.logits(b, t, new float[s.vocab()]), model.logits(b, t, new float[s.vocab()]),
            what + " row " + b + " position " + t);
      }
    }
  }

  /** Names of the files in {@code dir}. */
  public static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
