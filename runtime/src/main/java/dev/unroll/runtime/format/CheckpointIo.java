package dev.unroll.runtime.format;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/** What the checkpoint formats of every model family share: layout checks, reads, name matching, messages. */
public final class CheckpointIo {

  /**
   * The logger that loads tell what the user should know but is no error: that a checkpoint made for a longer
   * context was loaded into a shorter one. The JDK's {@link System.Logger} keeps the runtime free of dependencies;
   * at INFO the JDK's default configuration prints it on standard error, and {@code dev.unroll.runtime.format.level
   * = WARNING} in a logging configuration (or a logging library bound to {@code System.Logger}) quiets it.
   */
  public static final System.Logger LOG = System.getLogger("dev.unroll.runtime.format");

  /** Where loads send their notices unless a caller (a test) takes them: {@link #LOG} at INFO. */
  public static final Consumer<String> LOG_NOTICE = CheckpointIo::logNotice;

  /**
   * The first part of the names under which a training checkpoint stores its optimizer's state beside the
   * parameters ({@code optimizer.exp_avg.<name>}); a model's load skips them, so that it reads such a file as a model.
   */
  public static final String OPTIMIZER_PREFIX = "optimizer.";

  private CheckpointIo() {}

  /**
   * What every family's safetensors carries: {@code entries}, with metadata {@code format=pt} (what Hugging Face's
   * loaders look for) and {@code unroll.shape=describe} (what a load names when the shapes differ).
   */
  public static Safetensors.Contents contents(String describe, List<Safetensors.Entry> entries) {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("format", "pt");
    metadata.put(SHAPE_KEY, describe);
    return new Safetensors.Contents(metadata, entries);
  }

  /** The metadata key of the shape a file was saved from. */
  public static final String SHAPE_KEY = "unroll.shape";

  /**
   * A checkpoint read and checked into a scratch arena, not yet in the model.
   *
   * @param values the whole arena
   * @param notice the line to tell the user once the values are in place, or {@code null}
   */
  public record Loaded(float[] values, String notice) {

    /** Copies the values into {@code p}, then hands the notice, if any, to {@code notices}: once per load. */
    public void install(Parameters p, Consumer<String> notices) {
      System.arraycopy(values, 0, p.values(), 0, values.length);
      adopt(notices);
    }

    /**
     * Hands the notice, if any, to {@code notices} and returns the values themselves: for a new model that takes
     * them as its parameter arena, instead of a copy.
     */
    public float[] adopt(Consumer<String> notices) {
      if (notice != null) {
        notices.accept(notice);
      }
      return values;
    }
  }

  /** Logs a load's notice at INFO; a named method, so that log lines name it as their source. */
  private static void logNotice(String notice) {
    LOG.log(System.Logger.Level.INFO, notice);
  }

  /**
   * The notice for a checkpoint made for a longer context than the model's, e.g. {@code "gpt2_124M.bin: position
   * table has 1024 rows; using the first 256 (context = 256)"}.
   *
   * @param fileHas what the file records, e.g. "position table has 1024 rows"
   * @param unit what the model uses the first {@code context} of, with a leading space, or ""
   */
  public static String shorterContext(Path path, String fileHas, int context, String unit) {
    return path + ": " + fileHas + "; using the first " + context + unit + " (context = " + context + ")";
  }

  /**
   * The layout {@code layouts} computes, after checking that {@code p} is laid out exactly as it.
   *
   * @param model the model for messages, e.g. "a GPT-2 model with vocab=..."
   * @param layoutName the class that defines the layout, for messages
   * @throws IllegalArgumentException naming the file, and the count or the first tensor that differs (or why
   *     there is no layout)
   */
  public static List<ParamTensor> checkLayout(Parameters p, Supplier<List<ParamTensor>> layouts, String model,
      String layoutName, Path path) {
    List<ParamTensor> layout;
    try {
      layout = layouts.get();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
    }
    ParamTensor last = layout.getLast();
    int count = last.offset() + last.size();
    if (p.count() != count) {
      throw new IllegalArgumentException(path + ": the parameters hold " + p.count() + " floats, but " + model
          + " has " + count);
    }
    if (!p.tensors().equals(layout)) {
      String detail = "they have " + p.tensors().size() + " tensors, the layout " + layout.size();
      for (int i = 0; i < Math.min(layout.size(), p.tensors().size()); i++) {
        if (!p.tensors().get(i).equals(layout.get(i))) {
          detail = "tensor #" + i + " is " + p.tensors().get(i) + " where the layout has " + layout.get(i);
          break;
        }
      }
      throw new IllegalArgumentException(path + ": the parameters are not laid out as " + layoutName + " says for "
          + model + ": " + detail);
    }
    return layout;
  }

  /**
   * Matches the tensors of a safetensors file to the ones a model expects, by name, and checks their shapes and
   * dtypes: nothing missing, nothing unknown, no name twice. A training checkpoint's optimizer state (names that
   * begin with {@value #OPTIMIZER_PREFIX}) is skipped.
   *
   * @param expected every tensor the model needs, in the order to check them, with the shape the file must have
   * @param canonical maps a file's name to the model's (e.g. strips a prefix)
   * @param ignored canonical names that are not parameters (buffers) and are skipped
   * @param family the model family for messages, e.g. "GPT-2"
   * @param hint a clause appended to shape errors, or ""
   * @return the file's tensor for each expected name
   * @throws CheckpointException naming every missing and unknown tensor, or the first bad shape or dtype
   */
  public static Map<String, Safetensors.Tensor> match(Path path, Safetensors st, Map<String, int[]> expected,
      UnaryOperator<String> canonical, Predicate<String> ignored, String family, String hint)
      throws CheckpointException {
    Map<String, Safetensors.Tensor> found = new HashMap<>();
    List<String> unexpected = new ArrayList<>();
    for (Safetensors.Tensor t : st.tensors().values()) {
      String name = canonical.apply(t.name());
      if (ignored.test(name) || t.name().startsWith(OPTIMIZER_PREFIX)) {
        continue;
      }
      Safetensors.Tensor twin = found.put(name, t);
      if (twin != null) {
        throw new CheckpointException(path, "has both " + twin.name() + " and " + t.name());
      }
      if (!expected.containsKey(name)) {
        unexpected.add(t.name());
      }
    }
    List<String> missing = new ArrayList<>();
    for (String name : expected.keySet()) {
      if (!found.containsKey(name)) {
        missing.add(name);
      }
    }
    if (!missing.isEmpty() || !unexpected.isEmpty()) {
      String problem = missing.isEmpty() ? "" : "is missing " + count(missing.size(), "tensor") + ": " + list(missing);
      if (!unexpected.isEmpty()) {
        problem += (problem.isEmpty() ? "has " : "; it has ") + count(unexpected.size(), "tensor") + " a " + family
            + " model does not have: " + list(unexpected);
      }
      throw new CheckpointException(path, problem + hint);
    }
    for (Map.Entry<String, int[]> e : expected.entrySet()) {
      Safetensors.Tensor f = found.get(e.getKey());
      if (!f.hasShape(e.getValue())) {
        throw new CheckpointException(path, "tensor " + f.name() + " has shape " + Arrays.toString(f.shape())
            + " but the model expects " + Arrays.toString(e.getValue()) + hint);
      }
      if (!f.dtype().readableAsFloat()) {
        throw new CheckpointException(path, "tensor " + f.name() + " has dtype " + f.dtype()
            + "; only F32, F16 and BF16 can be loaded");
      }
    }
    return found;
  }

  /** When a safetensors file says it was saved from another shape, a clause that says both; else "". */
  public static String shapeHint(Safetensors st, String describe) {
    String saved = st.metadata().get(SHAPE_KEY);
    return saved == null || saved.equals(describe) ? ""
        : " (the file was saved from a model with " + saved + "; this model has " + describe + ")";
  }

  /** Reads of at least this many bytes map the file instead of reading it through a buffer. */
  static final long MAP_BYTES = 1 << 20;

  /** Floats mapped at a time: 64 MiB. */
  private static final int MAP_PIECE_FLOATS = 1 << 24;

  private static final ValueLayout.OfFloat LITTLE_ENDIAN_FLOAT =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /**
   * Reads n little-endian float32 from byte {@code pos} into dst[off..off+n). A large read that the file holds
   * whole maps that part of the file and copies it straight into {@code dst} (one pass over the bytes, no buffer:
   * how a 110M-parameter checkpoint loads in a fraction of a second); any other goes through a buffer of at most
   * {@link AtomicFile#CHUNK_BYTES}, never larger than the read (a small model's load reads a few kilobytes), and a
   * file that ends early is a {@link CheckpointException} saying where.
   */
  public static void readFloats(Path path, FileChannel channel, long pos, float[] dst, int off, int n)
      throws IOException {
    long length = (long) n * Float.BYTES;
    if (length >= MAP_BYTES && pos >= 0 && pos + length <= channel.size()) {
      // in pieces, each unmapped before the next, so that the file's pages add at most a piece to what is resident
      for (int done = 0; done < n; ) {
        int k = Math.min(n - done, MAP_PIECE_FLOATS);
        long at = pos + (long) done * Float.BYTES;
        try (Arena arena = Arena.ofConfined()) {
          MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, at, (long) k * Float.BYTES, arena);
          MemorySegment.copy(mapped, LITTLE_ENDIAN_FLOAT, 0, dst, off + done, k);
        } catch (InternalError e) { // a page gone under the mapping: the file was cut short while being read
          throw new CheckpointException(path, "file changed while it was read (it is shorter than the "
              + (pos + length) + " bytes it had)", e);
        }
        done += k;
      }
      return;
    }
    int bytes = (int) Math.min(AtomicFile.CHUNK_BYTES, Math.max(1L, n) * Float.BYTES);
    ByteBuffer buf = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    while (n > 0) {
      int k = Math.min(n, buf.capacity() / Float.BYTES);
      buf.clear().limit(k * Float.BYTES);
      readFully(path, channel, buf, pos);
      buf.flip();
      buf.asFloatBuffer().get(dst, off, k);
      pos += (long) k * Float.BYTES;
      off += k;
      n -= k;
    }
  }

  /** Fills {@code buf} from byte {@code pos}; a short file is a {@link CheckpointException} saying so. */
  public static void readFully(Path path, FileChannel channel, ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int r = channel.read(buf, pos);
      if (r < 0) {
        throw new CheckpointException(path, "file is truncated: it ended at byte " + pos + " while "
            + buf.remaining() + " more bytes were expected");
      }
      pos += r;
    }
  }

  /** "1 tensor", "3 tensors". */
  public static String count(int n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  /** Up to 10 names, then how many more. */
  public static String list(List<String> names) {
    int shown = Math.min(names.size(), 10);
    String out = String.join(", ", names.subList(0, shown));
    return names.size() > shown ? out + " and " + (names.size() - shown) + " more" : out;
  }

  /** Bytes as two-digit hex, space-separated. */
  public static String hex(byte[] bytes) {
    StringBuilder b = new StringBuilder();
    for (byte x : bytes) {
      b.append(b.isEmpty() ? "" : " ").append(String.format("%02x", x & 0xff));
    }
    return b.toString();
  }
}
