package dev.unroll.runtime.gpt2;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.AtomicFile;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.CheckpointIo;
import dev.unroll.runtime.format.Safetensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * GPT-2 checkpoints: Hugging Face's safetensors and llm.c's {@code .bin}, read into and written from a model's
 * {@link Parameters} laid out as {@link Gpt2Layout} says.
 *
 * <p><b>safetensors</b> uses Hugging Face's names and conventions: {@code wte.weight} is {@code [vocab, dim]}
 * (no padding rows), and the four {@code Conv1D} weights ({@code attn.c_attn}, {@code attn.c_proj},
 * {@code mlp.c_fc}, {@code mlp.c_proj}) are stored transposed, as {@code [in, out]}. Loading accepts names with a
 * {@code transformer.} prefix (as {@code GPT2LMHeadModel} saves them) and ignores the buffers
 * {@code h.<i>.attn.bias} and {@code h.<i>.attn.masked_bias} and the tied {@code lm_head.weight}.
 *
 * <p><b>llm.c</b> ({@code train_gpt2.c}'s format, version 3): a header of 256 little-endian int32 ({@code [0]}
 * magic 20240326, {@code [1]} version 3, {@code [2]} maxT, {@code [3]} V, {@code [4]} L, {@code [5]} NH,
 * {@code [6]} C, {@code [7]} Vp), then every parameter as float32 in the arena's order, {@code wte} with Vp rows.
 * The format implies hidden = 4·C.
 *
 * <p><b>A shorter context.</b> A checkpoint's position table ({@code wpe}: maxT rows in llm.c's header, the rows of
 * {@code wpe.weight} in safetensors) may be longer than the model's context: loading keeps its first
 * {@code context} rows, which are all a model of that context ever reads, so gpt2_124M (1024 positions) can be
 * fine-tuned at context 256. Each such load says so once, through {@link System.Logger} {@code
 * dev.unroll.runtime.format} at INFO ({@code "gpt2_124M.bin: position table has 1024 rows; using the first 256
 * (context = 256)"}). A table shorter than the context is an error: positions past it would have no embedding.
 * Every other size must equal the model's.
 *
 * <p>Loading never half-loads: the whole file is read and checked into a scratch array first, and only then
 * copied into the parameters; on any failure the parameters are untouched. Saving is atomic. Every failure is a
 * {@link CheckpointException} (or an {@link IllegalArgumentException} for parameters that do not fit the shape)
 * whose message starts with the file's path.
 */
public final class Gpt2Checkpoints {

  /** int32 at offset 0 of an llm.c GPT-2 checkpoint. */
  public static final int LLMC_MAGIC = 20240326;

  /** The llm.c checkpoint version read and written: float32 parameters, padded vocabulary. */
  public static final int LLMC_VERSION = 3;

  /** Size of an llm.c header in bytes: 256 int32. */
  static final int LLMC_HEADER_BYTES = 256 * Integer.BYTES;

  /** Buffers Hugging Face's GPT-2 stores beside its parameters (the causal mask); not parameters. */
  private static final Pattern IGNORED = Pattern.compile("h\\.\\d+\\.attn\\.(bias|masked_bias)|lm_head\\.weight");

  private static final String PREFIX = "transformer.";

  /** The position table, whose rows may outnumber the model's context. */
  private static final String WPE = "wpe.weight";

  /** Magic numbers of llm.c's other files, to say what a file is when it is not a checkpoint. */
  private static final Map<Integer, String> OTHER_LLMC_FILES = Map.of(
      20240327, "an llm.c debug state file, not a model checkpoint",
      20240328, "an llm.c tokenizer file, not a model checkpoint",
      20240520, "an llm.c token data shard, not a model checkpoint");

  private Gpt2Checkpoints() {}

  // ---------------------------------------------------------------------------------------------------------
  // Saving

  /**
   * Writes the parameters as float32 safetensors with Hugging Face GPT-2 names ({@code wte.weight} unpadded,
   * Conv1D weights transposed to {@code [in, out]}) and metadata {@code format=pt}, {@code unroll.shape=}
   * {@link Gpt2Shape#describe()}; atomically.
   *
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link Gpt2Layout#tensors} says for {@code s}
   */
  public static void saveSafetensors(Parameters p, Gpt2Shape s, Path path) throws IOException {
    safetensors(p, s, path).write(path);
  }

  /** What {@link #saveSafetensors} writes to {@code path} (named in messages), not yet written. */
  public static Safetensors.Contents safetensors(Parameters p, Gpt2Shape s, Path path) {
    List<ParamTensor> layout = checkLayout(p, s, path);
    float[] values = p.values();
    List<Safetensors.Entry> entries = new ArrayList<>(layout.size());
    for (ParamTensor t : layout) {
      int[] shape = t.shape();
      if (t.name().equals("wte.weight")) {
        entries.add(Safetensors.Entry.of(t.name(), new int[] {s.vocab(), s.dim()}, values, t.offset()));
      } else if (Gpt2Layout.isConv1dWeight(t.name())) {
        entries.add(Safetensors.Entry.transposed(t.name(), shape[0], shape[1], values, t.offset()));
      } else {
        entries.add(Safetensors.Entry.of(t.name(), shape, values, t.offset()));
      }
    }
    return CheckpointIo.contents(s.describe(), entries);
  }

  /**
   * Writes the parameters as an llm.c GPT-2 checkpoint, version 3 (float32, the model's padded vocabulary, padding
   * rows written as zeros); atomically. llm.c's {@code train_gpt2.c} loads it.
   *
   * @throws IllegalArgumentException when the model's hidden width is not 4·dim (llm.c cannot express it), or
   *     {@code p} is not laid out as {@link Gpt2Layout#tensors} says for {@code s}
   */
  public static void saveLlmc(Parameters p, Gpt2Shape s, Path path) throws IOException {
    checkLayout(p, s, path);
    if ((long) s.hidden() != 4L * s.dim()) {
      throw new IllegalArgumentException(path + ": llm.c checkpoints require hidden = 4*dim = " + 4L * s.dim()
          + ", but the model has hidden=" + s.hidden());
    }
    ByteBuffer header = ByteBuffer.allocate(LLMC_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    header.putInt(LLMC_MAGIC).putInt(LLMC_VERSION).putInt(s.context()).putInt(s.vocab()).putInt(s.layers())
        .putInt(s.heads()).putInt(s.dim()).putInt(s.paddedVocab());
    header.clear();
    float[] values = p.values();
    int used = s.vocab() * s.dim();
    int wte = s.paddedVocab() * s.dim();
    AtomicFile.write(path, channel -> {
      AtomicFile.writeFully(channel, header);
      AtomicFile.FloatSink sink = new AtomicFile.FloatSink(channel);
      sink.put(values, 0, used);
      sink.zeros(wte - used);
      sink.put(values, wte, values.length - wte);
      sink.flush();
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Loading

  /**
   * Loads a GPT-2 checkpoint into {@code p.values()}: llm.c's format when the file starts with its magic
   * {@value #LLMC_MAGIC}, safetensors otherwise. Rows of {@code wte} past the vocabulary are set to zero;
   * gradients are not touched. Nothing is written into {@code p} unless the whole file was read and matched. A
   * position table longer than the model's context gives its first rows, and a line at INFO on the
   * {@link System.Logger} {@code dev.unroll.runtime.format} saying so.
   *
   * @throws CheckpointException when the file is of neither format, corrupt, truncated, for another shape, or for a
   *     shorter context than the model's
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link Gpt2Layout#tensors} says for {@code s}
   * @throws IOException when the file cannot be read
   */
  public static void load(Parameters p, Gpt2Shape s, Path path) throws IOException {
    load(p, s, path, CheckpointIo.LOG_NOTICE);
  }

  /** {@link #load(Parameters, Gpt2Shape, Path)}, telling {@code notices} what it would log. */
  static void load(Parameters p, Gpt2Shape s, Path path, Consumer<String> notices) throws IOException {
    checkLayout(p, s, path);
    readFile(s, path).install(p, notices);
  }

  /**
   * Reads a GPT-2 checkpoint, as {@link #load(Parameters, Gpt2Shape, Path)} does, into a new arena laid out as
   * {@link Gpt2Layout#tensors} says for {@code s}, and logs its notice if any: what a model made for decoding only
   * adopts as its parameters, so that the weights are held once.
   *
   * @throws CheckpointException as {@link #load(Parameters, Gpt2Shape, Path)}
   * @throws IOException when the file cannot be read
   */
  public static float[] read(Gpt2Shape s, Path path) throws IOException {
    return readFile(s, path).adopt(CheckpointIo.LOG_NOTICE);
  }

  private static CheckpointIo.Loaded readFile(Gpt2Shape s, Path path) throws IOException {
    CheckpointIo.Loaded loaded;
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size < 8) {
        throw new CheckpointException(path, "file is too short to be a checkpoint: " + size + " bytes");
      }
      ByteBuffer first = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      CheckpointIo.readFully(path, channel, first, 0);
      int magic = first.getInt(0);
      long headerLength = first.getLong(0);
      if (magic == LLMC_MAGIC) {
        loaded = readLlmc(path, channel, size, s);
      } else if (headerLength > 0 && headerLength <= Safetensors.MAX_HEADER_BYTES) {
        loaded = readSafetensors(path, s);
      } else {
        String known = OTHER_LLMC_FILES.get(magic);
        throw new CheckpointException(path, known != null ? "is " + known + " (magic " + magic + ")"
            : "is neither an llm.c GPT-2 checkpoint (which starts with the int32 " + LLMC_MAGIC
                + ") nor safetensors (which starts with its header length): it starts with the int32 " + magic
                + " (bytes " + CheckpointIo.hex(first.array()) + ")");
      }
    }
    return loaded;
  }

  private static CheckpointIo.Loaded readSafetensors(Path path, Gpt2Shape s) throws IOException {
    List<ParamTensor> layout = Gpt2Layout.tensors(s);
    try (Safetensors st = Safetensors.open(path)) {
      String hint = CheckpointIo.shapeHint(st, s.describe());
      int positions = positions(st, s);
      Map<String, int[]> expected = new LinkedHashMap<>();
      for (ParamTensor t : layout) {
        expected.put(t.name(), t.name().equals(WPE) ? new int[] {positions, s.dim()} : hfShape(t, s));
      }
      Map<String, Safetensors.Tensor> found = CheckpointIo.match(path, st, expected, Gpt2Checkpoints::canonical,
          name -> IGNORED.matcher(name).matches(), "GPT-2", hint);
      if (positions < s.context()) {
        throw new CheckpointException(path, "tensor " + found.get(WPE).name() + " has shape [" + positions + ", "
            + s.dim() + "] but the model expects [" + s.context() + ", " + s.dim() + "]: " + shorterTable(positions, s)
            + (hint.isEmpty() ? "; the model has " + s.describe() : hint));
      }
      float[] scratch = new float[Gpt2Layout.count(s)];
      for (ParamTensor t : layout) {
        Safetensors.Tensor f = found.get(t.name());
        if (Gpt2Layout.isConv1dWeight(t.name())) {
          int out = t.shape()[0];
          int in = t.shape()[1];
          float[] stored = st.readFloats(f.name()); // [in, out]
          for (int o = 0; o < out; o++) {
            int row = t.offset() + o * in;
            for (int i = 0; i < in; i++) {
              scratch[row + i] = stored[i * out + o];
            }
          }
        } else if (t.name().equals(WPE)) {
          st.readFloats(f.name(), scratch, t.offset(), t.size()); // the first context rows
        } else {
          st.readFloats(f.name(), scratch, t.offset()); // wte: V rows; the padding rows stay 0
        }
      }
      return new CheckpointIo.Loaded(scratch, positions > s.context() ? positionNotice(path, positions, s) : null);
    }
  }

  /** A safetensors name as the layout has it: without {@code transformer.}. */
  private static String canonical(String name) {
    return name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name;
  }

  /**
   * The rows of the file's position table when it is a {@code [rows, dim]} matrix: the context the checkpoint was
   * made for. Otherwise the model's context, so that matching reports the shape as it reports any other.
   */
  private static int positions(Safetensors st, Gpt2Shape s) {
    for (Safetensors.Tensor t : st.tensors().values()) {
      long[] shape = t.shape();
      if (canonical(t.name()).equals(WPE) && shape.length == 2 && shape[1] == s.dim() && shape[0] > 0
          && shape[0] <= Integer.MAX_VALUE) {
        return (int) shape[0];
      }
    }
    return s.context();
  }

  /** Why a position table of {@code rows} rows cannot serve the model. */
  private static String shorterTable(int rows, Gpt2Shape s) {
    return "the checkpoint's position table has " + rows + " rows, fewer than the model's context = " + s.context()
        + " (positions past " + rows + " would have no embedding; a longer table is fine, its first rows are used)";
  }

  private static String positionNotice(Path path, int rows, Gpt2Shape s) {
    return CheckpointIo.shorterContext(path, "position table has " + rows + " rows", s.context(), "");
  }

  /** The shape Hugging Face stores a tensor in. */
  private static int[] hfShape(ParamTensor t, Gpt2Shape s) {
    int[] shape = t.shape();
    if (t.name().equals("wte.weight")) {
      return new int[] {s.vocab(), s.dim()};
    }
    if (Gpt2Layout.isConv1dWeight(t.name())) {
      return new int[] {shape[1], shape[0]};
    }
    return shape;
  }

  private static CheckpointIo.Loaded readLlmc(Path path, FileChannel channel, long size, Gpt2Shape s)
      throws IOException {
    if (size < LLMC_HEADER_BYTES) {
      throw new CheckpointException(path, "file is truncated: an llm.c header is " + LLMC_HEADER_BYTES
          + " bytes, file has " + size);
    }
    ByteBuffer header = ByteBuffer.allocate(LLMC_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    CheckpointIo.readFully(path, channel, header, 0);
    int version = header.getInt(4);
    if (version != LLMC_VERSION) {
      throw new CheckpointException(path, switch (version) {
        case 5 -> "llm.c checkpoint version 5 holds bfloat16 parameters (written by llm.c's CUDA trainer); only "
            + "version 3 (float32, padded vocabulary) can be loaded: use the float32 file, e.g. gpt2_124M.bin "
            + "rather than gpt2_124M_bf16.bin";
        case 1, 2 -> "llm.c checkpoint version " + version + " is an older llm.c format; only version 3 (float32, "
            + "padded vocabulary) can be loaded: re-run llm.c's train_gpt2.py to write one";
        default -> "unknown llm.c checkpoint version " + version + "; only version 3 (float32, padded vocabulary) "
            + "can be loaded";
      });
    }
    int maxT = header.getInt(8);
    int v = header.getInt(12);
    int l = header.getInt(16);
    int nh = header.getInt(20);
    int c = header.getInt(24);
    int vp = header.getInt(28);
    String fileShape = "vocab=" + v + " context=" + maxT + " dim=" + c + " heads=" + nh + " layers=" + l
        + " (padded vocab " + vp + ", hidden=4*dim)";
    if (maxT <= 0 || v <= 0 || l <= 0 || nh <= 0 || c <= 0 || vp < v) {
      throw new CheckpointException(path, "llm.c header is corrupt: " + fileShape);
    }
    if ((long) s.hidden() != 4L * s.dim()) {
      throw new CheckpointException(path, "llm.c checkpoints imply hidden = 4*dim, but the model has "
          + s.describe() + "; the file has " + fileShape);
    }
    String both = "the file has " + fileShape + "; the model has " + s.describe();
    if (v != s.vocab() || c != s.dim() || nh != s.heads() || l != s.layers()) {
      throw new CheckpointException(path, "checkpoint is for another model shape: " + both);
    }
    if (maxT < s.context()) {
      throw new CheckpointException(path, shorterTable(maxT, s) + ": " + both);
    }
    int count = Gpt2Layout.count(s);
    int wte = s.paddedVocab() * c;
    int wpe = s.context() * c;
    int rest = count - wte - wpe; // everything after wpe
    long floats = (long) vp * c + (long) maxT * c + rest;
    long expected = LLMC_HEADER_BYTES + floats * Float.BYTES;
    if (size < expected) {
      throw new CheckpointException(path, "file is truncated: header says " + expected + " bytes (a "
          + LLMC_HEADER_BYTES + "-byte header and " + floats + " float32 parameters), file has " + size);
    }
    if (size > expected) {
      throw new CheckpointException(path, "file has " + size + " bytes, more than the " + expected + " bytes its "
          + "header describes (a " + LLMC_HEADER_BYTES + "-byte header and " + floats + " float32 parameters)");
    }
    float[] scratch = new float[count];
    long wpeStart = LLMC_HEADER_BYTES + (long) vp * c * Float.BYTES;
    CheckpointIo.readFloats(path, channel, LLMC_HEADER_BYTES, scratch, 0, v * c); // rows V..Vp stay 0
    CheckpointIo.readFloats(path, channel, wpeStart, scratch, wte, wpe); // the first context rows of maxT
    CheckpointIo.readFloats(path, channel, wpeStart + (long) maxT * c * Float.BYTES, scratch, wte + wpe, rest);
    return new CheckpointIo.Loaded(scratch, maxT > s.context() ? positionNotice(path, maxT, s) : null);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Helpers

  /** The layout for {@code s}, after checking that {@code p} has exactly it. */
  private static List<ParamTensor> checkLayout(Parameters p, Gpt2Shape s, Path path) {
    return CheckpointIo.checkLayout(p, () -> Gpt2Layout.tensors(s), "a GPT-2 model with " + s.describe(), "Gpt2Layout",
        path);
  }
}
