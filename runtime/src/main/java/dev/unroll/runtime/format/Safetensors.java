package dev.unroll.runtime.format;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * A small reader and writer of the <a href="https://huggingface.co/docs/safetensors">safetensors</a> format:
 * an 8-byte little-endian unsigned header length N, N bytes of a UTF-8 JSON object
 * <code>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"key": "value"}}</code>, then the little-endian tensor data, offsets relative to its start.
 *
 * <p>Reading: {@link #open(Path)} reads and validates the header (its length against the file's size, the JSON,
 * every tensor's dtype, shape and offsets: in range, consistent with dtype × shape, not overlapping); then
 * {@link #readFloats(String)} reads one tensor stored as F32, F16 or BF16 into {@code float}s. Tensor data is read
 * through the file channel in chunks, never mapped, so the file can be replaced while open on any platform.
 *
 * <p>Writing: {@link #write(Path, Map, List)} writes float32 tensors, contiguous in the order given (the format
 * forbids holes in the data), the header padded with spaces so that the data starts at a multiple of 8 bytes;
 * the file is written atomically (see {@link AtomicFile}).
 *
 * <p>Every failure is a {@link CheckpointException} (or, for a caller's mistake, an
 * {@link IllegalArgumentException}) whose message starts with the file's path.
 */
public final class Safetensors implements Closeable {

  /** The largest header the reference implementation accepts, in bytes. */
  public static final long MAX_HEADER_BYTES = 100_000_000L;

  /** The header key that holds string-to-string metadata rather than a tensor. */
  public static final String METADATA_KEY = "__metadata__";

  /**
   * The metadata key of a checksummed file's CRC32C, as 8 lowercase hex digits: over every byte of the file, with
   * these 8 digits read as {@value #CHECKSUM_PLACEHOLDER}. Written first in the header, so that a reader finds it at
   * a fixed place ({@link #write(Path, Map, List, boolean)}, {@link #verifyChecksum()}).
   */
  public static final String CHECKSUM_KEY = "unroll.crc32c";

  /** What the checksum's digits read as while it is computed. */
  static final String CHECKSUM_PLACEHOLDER = "00000000";

  /** How a checksummed file's header begins: the checksum's digits follow. */
  static final String CHECKSUM_PREFIX = "{\"" + METADATA_KEY + "\":{\"" + CHECKSUM_KEY + "\":\"";

  /** Element types of the format, with their sizes in bytes. */
  public enum Dtype {
    /** Boolean, one byte. */
    BOOL(1),
    /** Unsigned 8-bit integer. */
    U8(1),
    /** Signed 8-bit integer. */
    I8(1),
    /** 8-bit float, 5 exponent bits. */
    F8_E5M2(1),
    /** 8-bit float, 4 exponent bits. */
    F8_E4M3(1),
    /** Signed 16-bit integer. */
    I16(2),
    /** Unsigned 16-bit integer. */
    U16(2),
    /** IEEE half precision; readable as float. */
    F16(2),
    /** bfloat16 (the top half of a float32); readable as float. */
    BF16(2),
    /** Signed 32-bit integer. */
    I32(4),
    /** Unsigned 32-bit integer. */
    U32(4),
    /** IEEE single precision; readable as float, and the only type written. */
    F32(4),
    /** IEEE double precision. */
    F64(8),
    /** Signed 64-bit integer. */
    I64(8),
    /** Unsigned 64-bit integer. */
    U64(8);

    private final int bytes;

    Dtype(int bytes) {
      this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
      return bytes;
    }

    /** Whether {@link Safetensors#readFloats(String)} can read this type (F32, F16, BF16). */
    public boolean readableAsFloat() {
      return this == F32 || this == F16 || this == BF16;
    }
  }

  /**
   * One tensor as the header describes it.
   *
   * @param name the header key
   * @param dtype element type
   * @param shape dimensions, row-major; empty for a scalar
   * @param begin first byte, relative to the start of the data
   * @param end one past the last byte, relative to the start of the data
   */
  public record Tensor(String name, Dtype dtype, long[] shape, long begin, long end) {

    public Tensor {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(dtype, "dtype");
      shape = shape.clone();
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }

    /** Number of elements: the product of the shape (1 for a scalar). */
    public long elements() {
      return product(shape, false);
    }

    /** Whether the shape equals {@code expected}. */
    public boolean hasShape(int... expected) {
      if (expected.length != shape.length) {
        return false;
      }
      for (int i = 0; i < expected.length; i++) {
        if (expected[i] != shape[i]) {
          return false;
        }
      }
      return true;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Tensor t && t.name.equals(name) && t.dtype == dtype && Arrays.equals(t.shape, shape)
          && t.begin == begin && t.end == end;
    }

    @Override
    public int hashCode() {
      return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
      return name + " " + dtype + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
    }
  }

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, String> metadata;
  private final Map<String, Tensor> tensors;

  private Safetensors(Path path, FileChannel channel, long dataStart, Map<String, String> metadata,
      Map<String, Tensor> tensors) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.metadata = Collections.unmodifiableMap(metadata);
    this.tensors = Collections.unmodifiableMap(tensors);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Reading

  /**
   * Opens {@code path} and reads and validates its header. Close the result to release the file.
   *
   * @throws CheckpointException when the file is not well-formed safetensors
   * @throws IOException when the file cannot be read
   */
  public static Safetensors open(Path path) throws IOException {
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      return readHeader(path, channel);
    } catch (IOException | RuntimeException | Error e) {
      try {
        channel.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private static Safetensors readHeader(Path path, FileChannel channel) throws IOException {
    long size = channel.size();
    if (size < 8) {
      throw new CheckpointException(path, "file is too short to be safetensors: " + size
          + " bytes, fewer than the 8-byte header length");
    }
    ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    CheckpointIo.readFully(path, channel, lengthBytes, 0);
    long n = lengthBytes.getLong(0);
    if (Long.compareUnsigned(n, MAX_HEADER_BYTES) > 0) {
      throw new CheckpointException(path, "not a safetensors file: header length " + Long.toUnsignedString(n)
          + " is larger than the " + MAX_HEADER_BYTES + " bytes the format allows");
    }
    if (n > size - 8) {
      throw new CheckpointException(path, "file is truncated: header length says " + n
          + " bytes of JSON header, file has " + (size - 8) + " bytes after the length");
    }
    ByteBuffer headerBytes = ByteBuffer.allocate((int) n);
    CheckpointIo.readFully(path, channel, headerBytes, 8);
    headerBytes.flip();
    String json;
    try {
      json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(headerBytes).toString();
    } catch (CharacterCodingException e) {
      throw new CheckpointException(path, "header is not valid UTF-8", e);
    }
    Object root;
    try {
      root = Json.parse(json);
    } catch (Json.SyntaxException e) {
      throw new CheckpointException(path, "header is not valid JSON: " + e.getMessage(), e);
    }
    if (!(root instanceof Map<?, ?> top)) {
      throw new CheckpointException(path, "header is not a JSON object");
    }
    long dataLength = size - 8 - n;
    Map<String, String> metadata = new LinkedHashMap<>();
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : top.entrySet()) {
      String key = (String) e.getKey();
      if (key.equals(METADATA_KEY)) {
        if (!(e.getValue() instanceof Map<?, ?> meta)) {
          throw new CheckpointException(path, "header's " + METADATA_KEY + " is not a JSON object");
        }
        for (Map.Entry<?, ?> m : meta.entrySet()) {
          if (!(m.getValue() instanceof String value)) {
            throw new CheckpointException(path, "header's " + METADATA_KEY + " entry " + Json.quote((String) m.getKey())
                + " is not a string");
          }
          metadata.put((String) m.getKey(), value);
        }
      } else {
        tensors.put(key, tensorInfo(path, key, e.getValue()));
      }
    }
    checkOffsets(path, tensors.values(), dataLength);
    return new Safetensors(path, channel, 8 + n, metadata, tensors);
  }

  private static Tensor tensorInfo(Path path, String name, Object value) throws CheckpointException {
    String what = "tensor " + name;
    if (!(value instanceof Map<?, ?> info)) {
      throw new CheckpointException(path, what + ": header entry is not a JSON object");
    }
    if (!(info.get("dtype") instanceof String dtypeName)) {
      throw new CheckpointException(path, what + ": header entry has no string \"dtype\"");
    }
    Dtype dtype;
    try {
      dtype = Dtype.valueOf(dtypeName);
    } catch (IllegalArgumentException unknown) {
      throw new CheckpointException(path, what + " has unknown dtype " + Json.quote(dtypeName));
    }
    long[] shape = longs(path, what, "shape", info.get("shape"), -1);
    long[] offsets = longs(path, what, "data_offsets", info.get("data_offsets"), 2);
    long begin = offsets[0];
    long end = offsets[1];
    if (end < begin) {
      throw new CheckpointException(path, what + " has data_offsets [" + begin + ", " + end + "] that end before they begin");
    }
    long bytes;
    try {
      bytes = Math.multiplyExact(product(shape, true), dtype.bytes());
    } catch (ArithmeticException overflow) {
      throw new CheckpointException(path, what + " has shape " + Arrays.toString(shape) + " too large to address");
    }
    if (end - begin != bytes) {
      throw new CheckpointException(path, what + " has data_offsets [" + begin + ", " + end + "] spanning "
          + (end - begin) + " bytes, but dtype " + dtype + " and shape " + Arrays.toString(shape) + " need " + bytes);
    }
    return new Tensor(name, dtype, shape, begin, end);
  }

  /**
   * The product of a shape's dimensions (1 for a scalar): with {@code exact}, an ArithmeticException past a long;
   * without, wrapping ({@link Tensor#elements}; a header's tensors are read with exact arithmetic).
   */
  private static long product(long[] shape, boolean exact) {
    long n = 1;
    for (long d : shape) {
      n = exact ? Math.multiplyExact(n, d) : n * d;
    }
    return n;
  }

  /** A JSON array of non-negative integers, of {@code length} elements unless it is -1. */
  private static long[] longs(Path path, String what, String field, Object value, int length)
      throws CheckpointException {
    if (!(value instanceof List<?> list)) {
      throw new CheckpointException(path, what + ": header entry has no array \"" + field + "\"");
    }
    if (length >= 0 && list.size() != length) {
      throw new CheckpointException(path, what + ": \"" + field + "\" has " + list.size() + " elements, not " + length);
    }
    long[] out = new long[list.size()];
    for (int i = 0; i < out.length; i++) {
      if (!(list.get(i) instanceof Long v) || v < 0) {
        throw new CheckpointException(path, what + ": \"" + field + "\" holds " + list.get(i)
            + ", not a non-negative integer");
      }
      out[i] = v;
    }
    return out;
  }

  /** Checks that tensors do not overlap and lie within the data; says "truncated" when that is what it looks like. */
  private static void checkOffsets(Path path, Iterable<Tensor> all, long dataLength) throws CheckpointException {
    List<Tensor> sorted = new ArrayList<>();
    Tensor furthest = null;
    for (Tensor t : all) {
      if (t.end() > t.begin()) {
        sorted.add(t);
      }
      if (furthest == null || t.end() > furthest.end()) {
        furthest = t;
      }
    }
    sorted.sort(Comparator.comparingLong(Tensor::begin));
    long next = 0;
    boolean contiguous = true;
    Tensor previous = null;
    for (Tensor t : sorted) {
      if (previous != null && t.begin() < previous.end()) {
        throw new CheckpointException(path, "tensors " + previous.name() + " [" + previous.begin() + ", "
            + previous.end() + ") and " + t.name() + " [" + t.begin() + ", " + t.end() + ") overlap");
      }
      contiguous &= t.begin() == next;
      next = t.end();
      previous = t;
    }
    if (furthest != null && furthest.end() > dataLength) {
      if (contiguous) {
        throw new CheckpointException(path, "file is truncated: header says " + furthest.end()
            + " bytes of data, file has " + dataLength);
      }
      throw new CheckpointException(path, "tensor " + furthest.name() + " has data_offsets [" + furthest.begin() + ", "
          + furthest.end() + "] beyond the end of the data (" + dataLength + " bytes)");
    }
  }

  /** The file this reader reads. */
  public Path path() {
    return path;
  }

  /** The header's {@code __metadata__} (empty when absent), in header order. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Every tensor in the header, by name, in header order. */
  public Map<String, Tensor> tensors() {
    return tensors;
  }

  /**
   * The tensor with this name.
   *
   * @throws CheckpointException when there is none
   */
  public Tensor tensor(String name) throws CheckpointException {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new CheckpointException(path, "has no tensor named " + name);
    }
    return t;
  }

  /** Reads tensor {@code name} (F32, F16 or BF16) into a new array. */
  public float[] readFloats(String name) throws IOException {
    Tensor t = tensor(name);
    if (t.elements() > Integer.MAX_VALUE - 8) {
      throw new CheckpointException(path, "tensor " + name + " has " + t.elements() + " elements, too many for an array");
    }
    float[] out = new float[(int) t.elements()];
    readFloats(name, out, 0);
    return out;
  }

  /**
   * Reads every element of tensor {@code name} (F32, F16 or BF16), converted to float, into {@code dst} from
   * {@code dstOff}.
   *
   * @throws CheckpointException when the tensor is missing or of another dtype, or the file is shorter than it was
   * @throws IllegalArgumentException when {@code dst} has no room for it
   */
  public void readFloats(String name, float[] dst, int dstOff) throws IOException {
    readFloats(name, dst, dstOff, tensor(name).elements());
  }

  /**
   * Reads the first {@code n} elements of tensor {@code name} (F32, F16 or BF16) in stored order, converted to
   * float, into {@code dst} from {@code dstOff}: the first rows of a matrix when {@code n} is a multiple of its row.
   *
   * @throws CheckpointException when the tensor is missing or of another dtype, or the file is shorter than it was
   * @throws IllegalArgumentException when the tensor has fewer than {@code n} elements or {@code dst} has no room
   */
  public void readFloats(String name, float[] dst, int dstOff, long n) throws IOException {
    Tensor t = tensor(name);
    if (!t.dtype().readableAsFloat()) {
      throw new CheckpointException(path, "tensor " + name + " has dtype " + t.dtype()
          + "; only F32, F16 and BF16 can be read as floats");
    }
    if (n < 0 || n > t.elements()) {
      throw new IllegalArgumentException(path + ": tensor " + name + " has " + t.elements() + " elements; cannot read "
          + n + " of them");
    }
    if (dstOff < 0 || n > dst.length - (long) dstOff) {
      throw new IllegalArgumentException(path + ": tensor " + name + ": no room for " + n + " elements in "
          + dst.length + " floats from " + dstOff);
    }
    int size = t.dtype().bytes();
    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(AtomicFile.CHUNK_BYTES, Math.max(size, n * size)))
        .order(ByteOrder.LITTLE_ENDIAN);
    long pos = dataStart + t.begin();
    int at = dstOff;
    long left = n;
    while (left > 0) {
      int k = (int) Math.min(left, buf.capacity() / size);
      buf.clear().limit(k * size);
      CheckpointIo.readFully(path, channel, buf, pos);
      buf.flip();
      switch (t.dtype()) {
        case F32 -> buf.asFloatBuffer().get(dst, at, k);
        case F16 -> {
          for (int i = 0; i < k; i++) {
            dst[at + i] = Float.float16ToFloat(buf.getShort(2 * i));
          }
        }
        case BF16 -> {
          for (int i = 0; i < k; i++) {
            dst[at + i] = Float.intBitsToFloat((buf.getShort(2 * i) & 0xffff) << 16);
          }
        }
        default -> throw new AssertionError(t.dtype());
      }
      pos += (long) k * size;
      at += k;
      left -= k;
    }
  }

  /**
   * Checks the file's CRC32C against the one its metadata holds ({@value #CHECKSUM_KEY}): reads every byte once.
   *
   * @throws CheckpointException when the file has no checksum, or its contents no longer give it (a byte changed,
   *     the file cut short or grown since it was written)
   */
  public void verifyChecksum() throws IOException {
    String stored = metadata.get(CHECKSUM_KEY);
    if (stored == null) {
      throw new CheckpointException(path, "has no checksum (metadata " + CHECKSUM_KEY + "), so its contents cannot be "
          + "verified");
    }
    byte[] prefix = CHECKSUM_PREFIX.getBytes(StandardCharsets.US_ASCII);
    int digitsAt = 8 + prefix.length;
    if (dataStart < digitsAt + CHECKSUM_PLACEHOLDER.length()) {
      throw new CheckpointException(path, "has a checksum, but not where a checksummed file keeps it");
    }
    CRC32C crc = new CRC32C();
    long size = channel.size();
    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(AtomicFile.CHUNK_BYTES, size)); // no more than the file
    for (long pos = 0; pos < size; ) {
      buf.clear().limit((int) Math.min(buf.capacity(), size - pos));
      CheckpointIo.readFully(path, channel, buf, pos);
      byte[] chunk = buf.array();
      if (pos == 0) {
        // The header begins with the checksum (the first chunk holds it, a header being at least that long), whose
        // stored digits count as the placeholder.
        if (!Arrays.equals(chunk, 8, digitsAt, prefix, 0, prefix.length) || !stored.equals(new String(chunk,
            digitsAt, CHECKSUM_PLACEHOLDER.length(), StandardCharsets.US_ASCII))) {
          throw new CheckpointException(path, "has a checksum, but not where a checksummed file keeps it (the "
              + "header must begin with the checksum)");
        }
        byte[] placeholder = CHECKSUM_PLACEHOLDER.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(placeholder, 0, chunk, digitsAt, placeholder.length);
      }
      crc.update(chunk, 0, buf.limit());
      pos += buf.limit();
    }
    String computed = hex8(crc.getValue());
    if (!computed.equals(stored)) {
      throw new CheckpointException(path, "is corrupt: its contents give the CRC32C " + computed + ", but it was "
          + "written with " + stored + " (changed, cut short or grown since it was written)");
    }
  }

  private static String hex8(long crc) {
    return String.format("%08x", crc);
  }

  /** Closes the file. */
  @Override
  public void close() throws IOException {
    channel.close();
  }


  // ---------------------------------------------------------------------------------------------------------
  // Writing

  /** Where a tensor's values come from when it is written, in the stored (row-major) order. */
  @FunctionalInterface
  public interface Data {
    /** Copies stored elements {@code [from, from + n)} into {@code dst[dstOff..dstOff + n)}. */
    void get(long from, float[] dst, int dstOff, int n) throws IOException;
  }

  /**
   * A tensor to write as F32.
   *
   * @param name header key (not {@value #METADATA_KEY})
   * @param shape stored dimensions, row-major
   * @param data its elements in stored order
   */
  public record Entry(String name, long[] shape, Data data) {

    public Entry {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(data, "data");
      shape = shape.clone();
      for (long d : shape) {
        if (d < 0) {
          throw new IllegalArgumentException("tensor " + name + " has a negative dimension: " + Arrays.toString(shape));
        }
      }
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }

    /** Number of elements (1 for a scalar); an ArithmeticException past a long. */
    public long elements() {
      return product(shape, true);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Entry e && e.name.equals(name) && Arrays.equals(e.shape, shape) && e.data.equals(data);
    }

    @Override
    public int hashCode() {
      return Objects.hash(name, Arrays.hashCode(shape), data);
    }

    @Override
    public String toString() {
      return name + Arrays.toString(shape);
    }

    /** A tensor of this shape whose elements are {@code src[srcOff ..]}, row-major. */
    public static Entry of(String name, int[] shape, float[] src, int srcOff) {
      long[] s = new long[shape.length];
      long n = 1;
      for (int i = 0; i < shape.length; i++) {
        s[i] = shape[i];
        n *= Math.max(0, shape[i]);
      }
      checkRange(name, src, srcOff, n);
      return new Entry(name, s, (from, dst, dstOff, k) -> System.arraycopy(src, srcOff + (int) from, dst, dstOff, k));
    }

    /**
     * The transpose of the {@code rows × cols} row-major matrix at {@code src[srcOff ..]}: a tensor of shape
     * {@code [cols, rows]} whose element {@code [i][j]} is the matrix's {@code [j][i]}.
     */
    public static Entry transposed(String name, int rows, int cols, float[] src, int srcOff) {
      if (rows < 0 || cols < 0) {
        throw new IllegalArgumentException("tensor " + name + " has a negative dimension: " + rows + " x " + cols);
      }
      checkRange(name, src, srcOff, (long) rows * cols);
      return new Entry(name, new long[] {cols, rows}, (from, dst, dstOff, k) -> {
        int i = (int) (from / rows); // stored row = source column
        int j = (int) (from % rows); // stored column = source row
        for (int e = 0; e < k; e++) {
          dst[dstOff + e] = src[srcOff + j * cols + i];
          if (++j == rows) {
            j = 0;
            i++;
          }
        }
      });
    }

    private static void checkRange(String name, float[] src, int srcOff, long n) {
      if (srcOff < 0 || n > src.length - (long) srcOff) {
        throw new IllegalArgumentException("tensor " + name + " needs " + n + " floats from offset " + srcOff
            + " but the array has " + src.length);
      }
    }
  }

  /**
   * What a file will hold, before it is written: the metadata and the tensors, whose data is read only when
   * written. What a model's {@code save} writes, so that a caller can add to it (a training checkpoint adds the
   * optimizer's state).
   *
   * @param metadata the header's {@value #METADATA_KEY}, in order
   * @param entries the tensors, in order
   */
  public record Contents(Map<String, String> metadata, List<Entry> entries) {

    public Contents {
      metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
      entries = List.copyOf(entries);
    }

    /** These contents with more metadata and more tensors after them. */
    public Contents plus(Map<String, String> moreMetadata, List<Entry> moreEntries) {
      Map<String, String> m = new LinkedHashMap<>(metadata);
      m.putAll(moreMetadata);
      List<Entry> e = new ArrayList<>(entries);
      e.addAll(moreEntries);
      return new Contents(m, e);
    }

    /** Writes them to {@code path}, atomically (see {@link Safetensors#write(Path, Map, List)}). */
    public void write(Path path) throws IOException {
      Safetensors.write(path, metadata, entries);
    }

    /**
     * Writes them to {@code path} with a checksum, atomically (see {@link Safetensors#write(Path, Map, List,
     * boolean)}).
     */
    public void writeChecksummed(Path path) throws IOException {
      Safetensors.write(path, metadata, entries, true);
    }
  }

  /** {@link #write(Path, Map, List, boolean)} without a checksum. */
  public static void write(Path path, Map<String, String> metadata, List<Entry> entries) throws IOException {
    write(path, metadata, entries, false);
  }

  /**
   * Writes {@code entries} as F32 tensors, in this order and contiguous, with {@code metadata} as the header's
   * {@value #METADATA_KEY} (omitted when empty), to {@code path}, atomically: into a temporary file in the same
   * directory that is forced to disk and then renamed over {@code path}. On failure the temporary file is deleted
   * and an existing {@code path} is left as it was.
   *
   * <p>With {@code checksum}, the metadata begins with {@value #CHECKSUM_KEY}: the CRC32C of the whole file, which
   * {@link #verifyChecksum()} checks.
   *
   * @throws IllegalArgumentException for duplicate or reserved names, or names that are not valid Unicode, or
   *     metadata that holds {@value #CHECKSUM_KEY} itself
   */
  public static void write(Path path, Map<String, String> metadata, List<Entry> entries, boolean checksum)
      throws IOException {
    if (metadata.containsKey(CHECKSUM_KEY)) {
      throw new IllegalArgumentException(path + ": metadata key " + CHECKSUM_KEY + " is the checksum's, written only "
          + "by asking for a checksum");
    }
    Set<String> names = new HashSet<>();
    StringBuilder json = new StringBuilder(checksum ? CHECKSUM_PREFIX + CHECKSUM_PLACEHOLDER + "\"" : "{");
    if (checksum || !metadata.isEmpty()) {
      if (!checksum) {
        json.append(Json.quote(METADATA_KEY)).append(":{");
      }
      boolean first = !checksum;
      for (Map.Entry<String, String> m : metadata.entrySet()) {
        if (!first) {
          json.append(',');
        }
        first = false;
        json.append(Json.quote(Objects.requireNonNull(m.getKey(), "metadata key"))).append(':')
            .append(Json.quote(Objects.requireNonNull(m.getValue(), "metadata value")));
      }
      json.append('}');
    }
    long offset = 0;
    for (Entry e : entries) {
      if (e.name().equals(METADATA_KEY) || !names.add(e.name())) {
        throw new IllegalArgumentException(path + ": tensor name " + e.name() + " is "
            + (e.name().equals(METADATA_KEY) ? "reserved" : "used twice"));
      }
      long bytes;
      try {
        bytes = Math.multiplyExact(e.elements(), (long) Float.BYTES);
      } catch (ArithmeticException overflow) {
        throw new IllegalArgumentException(path + ": tensor " + e + " is too large");
      }
      if (json.length() > 1) {
        json.append(',');
      }
      json.append(Json.quote(e.name())).append(":{\"dtype\":\"F32\",\"shape\":[");
      long[] shape = e.shape();
      for (int i = 0; i < shape.length; i++) {
        json.append(i == 0 ? "" : ",").append(shape[i]);
      }
      json.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
      offset += bytes;
    }
    json.append('}');
    ByteBuffer headerJson;
    try {
      headerJson = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).encode(CharBuffer.wrap(json));
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(path + ": a tensor name or metadata string is not valid Unicode", e);
    }
    int jsonBytes = headerJson.remaining();
    int padded = (jsonBytes + 7) & ~7; // 8 + padded is a multiple of 8: the data starts aligned
    ByteBuffer header = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    header.putLong(padded).put(headerJson);
    while (header.hasRemaining()) {
      header.put((byte) ' ');
    }
    header.flip();
    List<Entry> copy = List.copyOf(entries);
    CRC32C crc = checksum ? new CRC32C() : null;
    if (crc != null) {
      crc.update(header.duplicate());
    }
    AtomicFile.write(path, channel -> {
      AtomicFile.writeFully(channel, header);
      AtomicFile.FloatSink sink = new AtomicFile.FloatSink(channel, crc);
      float[] scratch = new float[AtomicFile.CHUNK_BYTES / Float.BYTES];
      for (Entry e : copy) {
        long n = e.elements();
        for (long from = 0; from < n; ) {
          int k = (int) Math.min(scratch.length, n - from);
          e.data().get(from, scratch, 0, k);
          sink.put(scratch, 0, k);
          from += k;
        }
      }
      sink.flush();
      if (crc != null) {
        ByteBuffer digits = ByteBuffer.wrap(hex8(crc.getValue()).getBytes(StandardCharsets.US_ASCII));
        long at = 8 + CHECKSUM_PREFIX.length();
        while (digits.hasRemaining()) {
          at += channel.write(digits, at);
        }
      }
    });
  }
}
