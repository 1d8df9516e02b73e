package dev.unroll.runtime.format;

import static dev.unroll.runtime.format.TestFiles.assertFails;
import static dev.unroll.runtime.format.TestFiles.f32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.format.Safetensors.Dtype;
import dev.unroll.runtime.format.Safetensors.Entry;
import dev.unroll.runtime.format.TestFiles.Raw;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SafetensorsTest {

  @TempDir
  Path dir;

  private static float[] ramp(int n, float scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (i - n / 3f) * scale;
    }
    return v;
  }

  /**
   * A checksummed file: the checksum leads the metadata, reading is unchanged, and {@code verifyChecksum} accepts
   * the file as written and refuses it after any one byte changes anywhere (header, padding, data), or bytes are
   * cut or added.
   */
  @Test
  void aChecksumCatchesEveryChangedByte() throws IOException {
    float[] a = ramp(3 * 5, 0.25f);
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("note", "é ☃");
    meta.put("step", "12");
    Path path = dir.resolve("c.safetensors");
    Safetensors.write(path, meta, List.of(Entry.of("a", new int[] {3, 5}, a, 0)), true);
    byte[] good = Files.readAllBytes(path);
    try (Safetensors st = Safetensors.open(path)) {
      assertEquals(List.of(Safetensors.CHECKSUM_KEY, "note", "step"), List.copyOf(st.metadata().keySet()));
      assertTrue(st.metadata().get(Safetensors.CHECKSUM_KEY).matches("[0-9a-f]{8}"));
      assertArrayEquals(a, st.readFloats("a"));
      st.verifyChecksum();
    }
    for (int i = 0; i < good.length; i++) {
      byte[] bad = good.clone();
      bad[i] ^= 0x01;
      Files.write(path, bad);
      try (Safetensors st = Safetensors.open(path)) {
        CheckpointException e = assertThrows(CheckpointException.class, st::verifyChecksum, "byte " + i);
        assertTrue(e.getMessage().startsWith(path.toString()), e.getMessage());
      } catch (CheckpointException unreadable) {
        // The change broke the header itself (its length, its JSON): refused when opened, as good.
        assertTrue(unreadable.getMessage().startsWith(path.toString()), unreadable.getMessage());
      }
    }
    Files.write(path, Arrays.copyOf(good, good.length + 4));
    try (Safetensors st = Safetensors.open(path)) {
      assertTrue(assertThrows(CheckpointException.class, st::verifyChecksum).getMessage().contains("is corrupt"));
    }
  }

  @Test
  void aFileWithoutAChecksumCannotBeVerifiedAndTheKeyIsTheWritersOwn() throws IOException {
    Path path = dir.resolve("plain.safetensors");
    Safetensors.write(path, Map.of("k", "v"), List.of(Entry.of("a", new int[] {2}, new float[2], 0)));
    try (Safetensors st = Safetensors.open(path)) {
      assertTrue(assertThrows(CheckpointException.class, st::verifyChecksum).getMessage().contains("has no checksum"));
    }
    assertThrows(IllegalArgumentException.class, () -> Safetensors.write(dir.resolve("x.safetensors"),
        Map.of(Safetensors.CHECKSUM_KEY, "00000000"), List.of(), true));
  }

  @Test
  void roundTripsTensorsAndMetadata() throws IOException {
    float[] a = ramp(3 * 5, 0.25f);
    float[] b = ramp(7, -1.5f);
    float[] big = ramp(300_000, 1e-3f); // more than one write chunk
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", "pt");
    meta.put("note", "quote \" backslash \\ newline \n tab \t unicode é ☃");
    Path path = dir.resolve("t.safetensors");
    Safetensors.write(path, meta, List.of(
        Entry.of("a", new int[] {3, 5}, a, 0),
        Entry.of("b.odd \"name\" ☃", new int[] {7}, b, 0),
        Entry.of("scalar", new int[] {}, b, 2),
        Entry.of("empty", new int[] {0, 4}, b, 0),
        Entry.of("big", new int[] {600, 500}, big, 0)));
    try (Safetensors st = Safetensors.open(path)) {
      assertEquals(meta, st.metadata());
      assertEquals(List.of("a", "b.odd \"name\" ☃", "scalar", "empty", "big"), List.copyOf(st.tensors().keySet()));
      assertArrayEquals(a, st.readFloats("a"));
      assertArrayEquals(b, st.readFloats("b.odd \"name\" ☃"));
      assertArrayEquals(new float[] {b[2]}, st.readFloats("scalar"));
      assertArrayEquals(new float[0], st.readFloats("empty"));
      assertArrayEquals(big, st.readFloats("big"));
      Safetensors.Tensor t = st.tensor("a");
      assertEquals(Dtype.F32, t.dtype());
      assertArrayEquals(new long[] {3, 5}, t.shape());
      assertEquals(0, t.begin());
      assertEquals(60, t.end());
      assertEquals(60, st.tensor("b.odd \"name\" ☃").begin()); // contiguous: the format forbids holes
      assertArrayEquals(new long[] {}, st.tensor("scalar").shape());
      float[] into = new float[20];
      st.readFloats("b.odd \"name\" ☃", into, 10);
      assertArrayEquals(b, Arrays.copyOfRange(into, 10, 17));
      assertThrows(IllegalArgumentException.class, () -> st.readFloats("a", into, 10));
      assertFails(CheckpointException.class, path, () -> st.tensor("nope"), "has no tensor named nope");
    }
  }

  @Test
  void headerIsPaddedWithSpacesSoTheDataStartsAligned() throws IOException {
    Path path = dir.resolve("p.safetensors");
    for (String name : List.of("x", "xy", "xyz", "xyzw", "xyzwv", "xyzwvu", "xyzwvut", "xyzwvuts")) {
      Safetensors.write(path, Map.of(), List.of(Entry.of(name, new int[] {2}, new float[] {1, 2}, 0)));
      byte[] bytes = Files.readAllBytes(path);
      long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
      assertEquals(0, (8 + n) % 8);
      assertEquals(8 + n + 8, bytes.length);
      String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
      String trimmed = header.stripTrailing();
      assertTrue(trimmed.endsWith("}"));
      assertTrue(header.substring(trimmed.length()).chars().allMatch(ch -> ch == ' '));
      assertTrue(n - trimmed.length() < 8);
    }
  }

  @Test
  void transposedEntryStoresTheTranspose() throws IOException {
    int rows = 5;
    int cols = 7;
    float[] m = ramp(3 + rows * cols, 1f);
    Path path = dir.resolve("tr.safetensors");
    Safetensors.write(path, Map.of(), List.of(Entry.transposed("m", rows, cols, m, 3)));
    try (Safetensors st = Safetensors.open(path)) {
      assertArrayEquals(new long[] {cols, rows}, st.tensor("m").shape());
      float[] t = st.readFloats("m");
      for (int i = 0; i < cols; i++) {
        for (int j = 0; j < rows; j++) {
          assertEquals(m[3 + j * cols + i], t[i * rows + j]);
        }
      }
    }
  }

  /** The first n elements, as a long position table's first rows are read; nothing past them is touched. */
  @Test
  void readsTheFirstElementsOfATensor() throws IOException {
    float[] big = ramp(600 * 500, 1e-3f); // more than one read chunk
    float[] v = {0.5f, -1.25f, 3f, 0.1f, 7f, -0.75f};
    Path path = dir.resolve("first.safetensors");
    Safetensors.write(path, Map.of(), List.of(Entry.of("big", new int[] {600, 500}, big, 0)));
    Path half = dir.resolve("first-half.safetensors");
    TestFiles.writeRaw(half, Map.of(), List.of(new Raw("h", "F16", new long[] {3, 2}, TestFiles.f16(v)),
        new Raw("b", "BF16", new long[] {3, 2}, TestFiles.bf16(v))));
    try (Safetensors st = Safetensors.open(path); Safetensors hs = Safetensors.open(half)) {
      float[] into = new float[400 * 500 + 2];
      Arrays.fill(into, Float.NaN);
      st.readFloats("big", into, 1, 400 * 500L);
      assertArrayEquals(Arrays.copyOf(big, 400 * 500), Arrays.copyOfRange(into, 1, 1 + 400 * 500));
      assertTrue(Float.isNaN(into[0]) && Float.isNaN(into[into.length - 1]));
      float[] h = new float[5];
      hs.readFloats("h", h, 1, 4);
      float[] b = new float[4];
      hs.readFloats("b", b, 0, 4);
      for (int i = 0; i < 4; i++) {
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), h[1 + i]);
        assertEquals(TestFiles.bf16Round(v[i]), b[i]);
      }
      assertEquals(0f, h[0]);
      assertFails(IllegalArgumentException.class, half, () -> hs.readFloats("h", new float[7], 0, 7),
          "tensor h has 6 elements; cannot read 7");
      assertFails(IllegalArgumentException.class, half, () -> hs.readFloats("h", new float[7], 0, -1), "cannot read -1");
      assertFails(IllegalArgumentException.class, half, () -> hs.readFloats("h", new float[3], 0, 4), "no room");
    }
  }

  @Test
  void readsF16AndBf16() throws IOException {
    float[] v = {0f, 1f, -2.5f, 0.1f, 65504f, 6.1e-5f, 3.14159f, -1e-3f, Float.POSITIVE_INFINITY};
    Path path = dir.resolve("half.safetensors");
    TestFiles.writeRaw(path, Map.of(), List.of(
        new Raw("h", "F16", new long[] {3, 3}, TestFiles.f16(v)),
        new Raw("b", "BF16", new long[] {9}, TestFiles.bf16(v)),
        new Raw("i", "I64", new long[] {1}, new byte[8])));
    try (Safetensors st = Safetensors.open(path)) {
      float[] h = st.readFloats("h");
      float[] b = st.readFloats("b");
      for (int i = 0; i < v.length; i++) {
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), h[i]);
        assertEquals(TestFiles.bf16Round(v[i]), b[i]);
      }
      assertEquals(1f, h[1]);
      assertEquals(-2.5f, b[2]);
      assertEquals(Dtype.I64, st.tensor("i").dtype());
      assertFails(CheckpointException.class, path, () -> st.readFloats("i"), "tensor i has dtype I64");
    }
  }

  static Stream<Arguments> corruptFiles() {
    String ok = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    return Stream.of(
        Arguments.of("{" + ok, 8, "header is not valid JSON"),
        Arguments.of("{" + ok + "} x", 8, "header is not valid JSON"),
        Arguments.of("{" + ok + "," + ok + "}", 8, "duplicate key \"a\""),
        Arguments.of("[1,2]", 0, "header is not a JSON object"),
        Arguments.of("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype \"F33\""),
        Arguments.of("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor a: header entry has no string \"dtype\""),
        Arguments.of("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "not a non-negative integer"),
        Arguments.of("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "not a non-negative integer"),
        Arguments.of("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "\"data_offsets\" has 1 elements"),
        Arguments.of("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 12,
            "tensor a has data_offsets [0, 8] spanning 8 bytes, but dtype F32 and shape [3] need 12"),
        Arguments.of("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "end before they begin"),
        Arguments.of("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, "tensors a [0, 8) and b [4, 12) overlap"),
        Arguments.of("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1000,1008]}}", 16,
            "tensor b has data_offsets [1000, 1008] beyond the end of the data (16 bytes)"),
        Arguments.of("{" + ok + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 12,
            "file is truncated: header says 16 bytes of data, file has 12"),
        Arguments.of("{\"__metadata__\":{\"k\":1}," + ok + "}", 8, "entry \"k\" is not a string"),
        Arguments.of("{\"__metadata__\":[]," + ok + "}", 8, "__metadata__ is not a JSON object"),
        Arguments.of("{\"a\":\"F32\"}", 0, "tensor a: header entry is not a JSON object"),
        Arguments.of("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999,99999999999,99999999999],\"data_offsets\":[0,8]}}",
            8, "too large to address"));
  }

  @ParameterizedTest
  @MethodSource("corruptFiles")
  void rejectsCorruptHeaders(String json, int dataBytes, String message) throws IOException {
    Path path = dir.resolve("bad.safetensors");
    TestFiles.writeRaw(path, json, new byte[dataBytes]);
    assertFails(CheckpointException.class, path, () -> Safetensors.open(path).close(), message);
  }

  @Test
  void rejectsBadHeaderLengths() throws IOException {
    Path path = dir.resolve("len.safetensors");
    Files.write(path, new byte[] {1, 2, 3});
    assertFails(CheckpointException.class, path, () -> Safetensors.open(path).close(), "too short", "3 bytes");

    ByteBuffer b = ByteBuffer.allocate(8 + 10).order(ByteOrder.LITTLE_ENDIAN).putLong(1234);
    Files.write(path, b.array());
    assertFails(CheckpointException.class, path, () -> Safetensors.open(path).close(),
        "file is truncated: header length says 1234 bytes of JSON header, file has 10");

    b = ByteBuffer.allocate(8 + 10).order(ByteOrder.LITTLE_ENDIAN).putLong(-1);
    Files.write(path, b.array());
    assertFails(CheckpointException.class, path, () -> Safetensors.open(path).close(),
        "header length 18446744073709551615 is larger than");

    byte[] bad = {8, 0, 0, 0, 0, 0, 0, 0, '{', '"', (byte) 0xff, '"', ':', '1', '}', ' '};
    Files.write(path, bad);
    assertFails(CheckpointException.class, path, () -> Safetensors.open(path).close(), "not valid UTF-8");
  }

  @Test
  void truncatedDataIsReportedWithBothSizes() throws IOException {
    Path path = dir.resolve("cut.safetensors");
    Safetensors.write(path, Map.of(), List.of(Entry.of("a", new int[] {250}, new float[250], 0),
        Entry.of("b", new int[] {250}, new float[250], 0)));
    byte[] bytes = Files.readAllBytes(path);
    Files.write(path, Arrays.copyOf(bytes, bytes.length - 100));
    assertFails(CheckpointException.class, path, () -> Safetensors.open(path).close(),
        "file is truncated: header says 2000 bytes of data, file has 1900");
  }

  @Test
  void writeIsAtomicAndLeavesNoTemporaryFile() throws IOException {
    Path path = dir.resolve("w.safetensors");
    Safetensors.write(path, Map.of(), List.of(Entry.of("a", new int[] {2}, new float[] {1, 2}, 0)));
    Safetensors.write(path, Map.of(), List.of(Entry.of("a", new int[] {3}, new float[] {4, 5, 6}, 0)));
    assertEquals(List.of("w.safetensors"), TestFiles.listing(dir));
    try (Safetensors st = Safetensors.open(path)) {
      assertArrayEquals(new float[] {4, 5, 6}, st.readFloats("a"));
    }
  }

  @Test
  void failedWriteLeavesThePreviousFileIntact() throws IOException {
    Path path = dir.resolve("keep.safetensors");
    Safetensors.write(path, Map.of("v", "1"), List.of(Entry.of("a", new int[] {2}, new float[] {1, 2}, 0)));
    byte[] before = Files.readAllBytes(path);
    float[] big = new float[1_000_000];
    Safetensors.Data failing = (from, dst, off, n) -> {
      if (from > 0) {
        throw new IOException("disk full (simulated)");
      }
      System.arraycopy(big, (int) from, dst, off, n);
    };
    IOException e = assertThrows(IOException.class, () -> Safetensors.write(path, Map.of(), List.of(
        Entry.of("a", new int[] {2}, new float[] {7, 8}, 0), new Entry("big", new long[] {big.length}, failing))));
    assertEquals("disk full (simulated)", e.getMessage());
    assertArrayEquals(before, Files.readAllBytes(path));
    assertEquals(List.of("keep.safetensors"), TestFiles.listing(dir));
  }

  @Test
  void failedRenameDeletesTheTemporaryFile() throws IOException {
    Path target = dir.resolve("occupied");
    Files.createDirectory(target);
    Files.writeString(target.resolve("inside.txt"), "keep me");
    assertThrows(IOException.class, () -> Safetensors.write(target, Map.of(),
        List.of(Entry.of("a", new int[] {2}, new float[] {1, 2}, 0))));
    assertEquals(List.of("occupied"), TestFiles.listing(dir));
    assertEquals("keep me", Files.readString(target.resolve("inside.txt")));
  }

  @Test
  void writerRejectsDuplicateAndReservedNames() {
    Path path = dir.resolve("dup.safetensors");
    float[] v = {1, 2};
    assertFails(IllegalArgumentException.class, path, () -> Safetensors.write(path, Map.of(),
        List.of(Entry.of("a", new int[] {2}, v, 0), Entry.of("a", new int[] {2}, v, 0))), "tensor name a is used twice");
    assertFails(IllegalArgumentException.class, path, () -> Safetensors.write(path, Map.of(),
        List.of(Entry.of("__metadata__", new int[] {2}, v, 0))), "is reserved");
    assertThrows(IllegalArgumentException.class, () -> Entry.of("a", new int[] {3}, v, 0));
    assertThrows(IllegalArgumentException.class, () -> Entry.transposed("a", 2, 2, v, 0));
    assertTrue(Files.notExists(path));
  }

  @Test
  void readsRawF32ItDidNotWrite() throws IOException {
    Path path = dir.resolve("raw.safetensors");
    float[] v = {1.5f, -2f, 3.25f};
    TestFiles.writeRaw(path, Map.of("k", "v"), List.of(new Raw("x", "F32", new long[] {1, 3}, f32(v))));
    try (Safetensors st = Safetensors.open(path)) {
      assertEquals(Map.of("k", "v"), st.metadata());
      assertArrayEquals(v, st.readFloats("x"));
    }
  }
}
