package dev.unroll.runtime.llama;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.AtomicFile;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.CheckpointIo;
import dev.unroll.runtime.format.Safetensors;
import dev.unroll.runtime.gpt2.Gpt2Checkpoints;
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
 * LLAMA checkpoints: Hugging Face's safetensors and llama2.c's {@code .bin}, read into and written from a model's
 * {@link Parameters} laid out as {@link LlamaLayout} says.
 *
 * <p><b>llama2.c</b> ({@code run.c}'s format; its {@code export.py} calls it the legacy format, version 0): seven
 * little-endian int32 {@code dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}, a negative
 * {@code vocab_size} meaning the classifier is not shared with the embedding; then float32 {@code token_embedding
 * (V,C)}, {@code rms_att (L,C)}, {@code wq (L,C,C)}, {@code wk (L,KV,C)}, {@code wv (L,KV,C)}, {@code wo (L,C,C)},
 * {@code rms_ffn (L,C)}, {@code w1 (L,H,C)}, {@code w2 (L,C,H)}, {@code w3 (L,H,C)}, {@code rms_final (C)}; then
 * the RoPE tables {@code freq_cis_real} and {@code freq_cis_imag}, each {@code (seq_len, hs/2)}; then {@code wcls
 * (V,C)} when not shared. The file has no magic number; {@link #load} tells it from safetensors by its first
 * bytes and then checks the header against the model and the file's size against the header.
 *
 * <p>Loading a llama2.c file requires dim, hidden_dim, n_layers, n_heads, n_kv_heads and vocab_size to equal the
 * model's, whether the classifier is shared to match the model's {@code tiedClassifier}, and {@code seq_len} to be
 * at least the model's context. No weight depends on {@code seq_len} (the model computes RoPE from positions, as
 * {@code run.c} does, which never reads the tables either), so a checkpoint trained at seq_len 256 loads into a
 * model of context 128, a shorter window; such a load says so once, through {@link System.Logger} {@code
 * dev.unroll.runtime.format} at INFO ({@code "stories15M.bin: seq_len is 256; using the first 128 positions
 * (context = 128)"}), as a GPT-2 load with a longer position table does. A longer context than {@code seq_len} is
 * an error: the model would run at positions the checkpoint was never trained on, which {@code run.c} refuses too
 * (it caps its steps at seq_len). The RoPE tables are skipped by their size, all {@code seq_len} rows of them;
 * files without them, or with only {@code freq_cis_real}, are accepted too, the file's size saying which it is.
 * {@link #saveLlama2c} writes both tables for {@code seq_len} = the model's context, so that llama2.c's
 * {@code run.c} reads the file. Hugging Face's safetensors record no maximum context (its {@code config.json}
 * does), so they load into a model of any context.
 *
 * <p><b>safetensors</b> uses Hugging Face's {@code LlamaForCausalLM} names and conventions: the embedding and
 * {@code lm_head.weight} have {@code vocab} rows (no padding), {@code lm_head.weight} is absent when the
 * classifier is tied, and the rows of {@code q_proj} and {@code k_proj} are permuted within each head. llama2.c
 * rotates adjacent pairs (x[2i], x[2i+1]) by RoPE; Hugging Face's rotate-half convention rotates (x[i],
 * x[i + hs/2]) by the same angle, so its head rows are llama2.c's rows {@code 0, 2, 4, ..., hs-2} followed by
 * {@code 1, 3, ..., hs-1} (llama2.c's {@code export.py}: {@code w.view(n_heads, hs/2, 2, C).transpose(1, 2)}).
 * Saving applies that permutation and loading its inverse. Loading ignores {@code rotary_emb.inv_freq} buffers.
 *
 * <p>As for GPT-2 ({@link Gpt2Checkpoints}): loading never half-loads (the whole file is read and checked into a
 * scratch array before anything is copied into the parameters), saving is atomic, and every failure is a
 * {@link CheckpointException} (or an {@link IllegalArgumentException} for parameters that do not fit the shape)
 * whose message starts with the file's path.
 */
public final class LlamaCheckpoints {

  /** Bytes of a llama2.c header: seven int32. */
  static final int LLAMA2C_HEADER_BYTES = 7 * Integer.BYTES;

  /** "ak42" as a little-endian int32: the magic of llama2.c's export.py versions 1 and 2, which run.c does not read. */
  static final int LLAMA2C_V1_MAGIC = 0x616b3432;

  /** Buffers some Hugging Face Llama checkpoints store beside the parameters. */
  private static final Pattern IGNORED = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");

  private LlamaCheckpoints() {}

  // ---------------------------------------------------------------------------------------------------------
  // The rotate-half permutation

  /**
   * The arena (llama2.c) row that Hugging Face stores as row {@code hfRow} of a q or k projection whose heads are
   * {@code hs} rows each: within a head, HF row r &lt; hs/2 is llama2.c row 2r, and HF row hs/2 + r is row 2r + 1.
   */
  static int llama2cRow(int hfRow, int hs) {
    int head = hfRow / hs;
    int r = hfRow % hs;
    int half = hs / 2;
    return head * hs + (r < half ? 2 * r : 2 * (r - half) + 1);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Saving

  /**
   * Writes the parameters as float32 safetensors with Hugging Face Llama names (embedding and classifier
   * unpadded, q and k rows permuted to the rotate-half convention, no {@code lm_head.weight} when tied) and
   * metadata {@code format=pt}, {@code unroll.shape=}{@link LlamaShape#describe()}; atomically.
   *
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link LlamaLayout#tensors} says for
   *     {@code s}
   */
  public static void saveSafetensors(Parameters p, LlamaShape s, Path path) throws IOException {
    safetensors(p, s, path).write(path);
  }

  /** What {@link #saveSafetensors} writes to {@code path} (named in messages), not yet written. */
  public static Safetensors.Contents safetensors(Parameters p, LlamaShape s, Path path) {
    List<ParamTensor> layout = checkLayout(p, s, path);
    float[] values = p.values();
    int c = s.dim();
    int hs = s.headSize();
    List<Safetensors.Entry> entries = new ArrayList<>(layout.size());
    for (ParamTensor t : layout) {
      int[] shape = t.shape();
      int offset = t.offset();
      if (isVocabMatrix(t.name())) {
        entries.add(Safetensors.Entry.of(t.name(), new int[] {s.vocab(), c}, values, offset));
      } else if (LlamaLayout.ropeHeads(t.name(), s) > 0) {
        entries.add(new Safetensors.Entry(t.name(), new long[] {shape[0], c}, (from, dst, dstOff, n) -> {
          for (int e = 0; e < n; e++) {
            long at = from + e;
            int row = (int) (at / c);
            int col = (int) (at % c);
            dst[dstOff + e] = values[offset + llama2cRow(row, hs) * c + col];
          }
        }));
      } else {
        entries.add(Safetensors.Entry.of(t.name(), shape, values, offset));
      }
    }
    return CheckpointIo.contents(s.describe(), entries);
  }

  /**
   * Writes the parameters as a llama2.c checkpoint (float32, {@code seq_len} = the model's context, vocabulary
   * unpadded, negative {@code vocab_size} when the classifier is untied, both RoPE tables); atomically. llama2.c's
   * {@code run.c} reads it.
   *
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link LlamaLayout#tensors} says for
   *     {@code s}
   */
  public static void saveLlama2c(Parameters p, LlamaShape s, Path path) throws IOException {
    List<ParamTensor> layout = checkLayout(p, s, path);
    ByteBuffer header = ByteBuffer.allocate(LLAMA2C_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    header.putInt(s.dim()).putInt(s.hidden()).putInt(s.layers()).putInt(s.heads()).putInt(s.kvHeads())
        .putInt(s.tiedClassifier() ? s.vocab() : -s.vocab()).putInt(s.context());
    header.flip();
    float[] values = p.values();
    int c = s.dim();
    int used = s.vocab() * c;
    int embedding = s.paddedVocab() * c;
    int finalNormEnd = layout.get(indexOf(layout, LlamaLayout.FINAL_NORM)).offset() + c;
    int half = s.headSize() / 2;
    float[] cos = new float[s.context() * half];
    float[] sin = new float[s.context() * half];
    for (int t = 0; t < s.context(); t++) {
      for (int i = 0; i < half; i++) {
        double angle = t / Math.pow(10000.0, 2.0 * i / s.headSize());
        cos[t * half + i] = (float) Math.cos(angle);
        sin[t * half + i] = (float) Math.sin(angle);
      }
    }
    AtomicFile.write(path, channel -> {
      AtomicFile.writeFully(channel, header);
      AtomicFile.FloatSink sink = new AtomicFile.FloatSink(channel);
      sink.put(values, 0, used);
      sink.put(values, embedding, finalNormEnd - embedding);
      sink.put(cos, 0, cos.length);
      sink.put(sin, 0, sin.length);
      if (!s.tiedClassifier()) {
        sink.put(values, finalNormEnd, used);
      }
      sink.flush();
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Loading

  /**
   * Loads a LLAMA checkpoint into {@code p.values()}: safetensors when the file starts as safetensors does (an
   * 8-byte header length, then <code>{</code>), llama2.c's format otherwise. Padding rows of the embedding and
   * classifier are set to zero; gradients are not touched. Nothing is written into {@code p} unless the whole
   * file was read and matched. A llama2.c {@code seq_len} longer than the model's context gives a line at INFO on
   * the {@link System.Logger} {@code dev.unroll.runtime.format} saying so.
   *
   * @throws CheckpointException when the file is of neither format, corrupt, truncated, for another shape, or (a
   *     llama2.c file) for a shorter context than the model's
   * @throws IllegalArgumentException when {@code p} is not laid out as {@link LlamaLayout#tensors} says for
   *     {@code s}
   * @throws IOException when the file cannot be read
   */
  public static void load(Parameters p, LlamaShape s, Path path) throws IOException {
    load(p, s, path, CheckpointIo.LOG_NOTICE);
  }

  /** {@link #load(Parameters, LlamaShape, Path)}, telling {@code notices} what it would log. */
  static void load(Parameters p, LlamaShape s, Path path, Consumer<String> notices) throws IOException {
    checkLayout(p, s, path);
    read(s, path, LlamaLayout.tensors(s)).install(p, notices);
  }

  /**
   * Reads a Llama checkpoint, as {@link #load(Parameters, LlamaShape, Path)} does, into a new arena laid out as
   * {@link LlamaLayout#tensors} says for {@code s}, and logs its notice if any: what a model made for decoding only
   * adopts as its parameters, so that the weights are held once.
   *
   * @throws CheckpointException as {@link #load(Parameters, LlamaShape, Path)}
   * @throws IOException when the file cannot be read
   */
  public static float[] read(LlamaShape s, Path path) throws IOException {
    return read(s, path, LlamaLayout.tensors(s)).adopt(CheckpointIo.LOG_NOTICE);
  }

  private static CheckpointIo.Loaded read(LlamaShape s, Path path, List<ParamTensor> layout) throws IOException {
    CheckpointIo.Loaded loaded;
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = channel.size();
      ByteBuffer first = ByteBuffer.allocate((int) Math.min(size, LLAMA2C_HEADER_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
      CheckpointIo.readFully(path, channel, first, 0);
      if (size >= 9) {
        long headerLength = first.getLong(0);
        if (headerLength > 0 && headerLength <= Safetensors.MAX_HEADER_BYTES && first.get(8) == '{') {
          return readSafetensors(path, s, layout);
        }
      }
      if (size >= 4 && first.getInt(0) == Gpt2Checkpoints.LLMC_MAGIC) {
        throw new CheckpointException(path, "is an llm.c GPT-2 checkpoint (magic " + Gpt2Checkpoints.LLMC_MAGIC
            + "), not a LLAMA one: load it into a GPT-2 model");
      }
      if (size >= 4 && first.getInt(0) == LLAMA2C_V1_MAGIC) {
        throw new CheckpointException(path, "is a llama2.c checkpoint in export.py's newer format (magic \"ak42\", "
            + "version " + (size >= 8 ? first.getInt(4) : -1) + "), which run.c cannot read either; export the "
            + "legacy format (export.py --version 0) or Hugging Face safetensors");
      }
      if (size < LLAMA2C_HEADER_BYTES) {
        throw new CheckpointException(path, "file is too short to be a checkpoint: " + size + " bytes, fewer than "
            + "safetensors' header or llama2.c's " + LLAMA2C_HEADER_BYTES + "-byte header");
      }
      loaded = readLlama2c(path, channel, size, first, s, layout);
    }
    return loaded;
  }

  private static CheckpointIo.Loaded readLlama2c(Path path, FileChannel channel, long size, ByteBuffer header,
      LlamaShape s, List<ParamTensor> layout) throws IOException {
    int dim = header.getInt(0);
    int hidden = header.getInt(4);
    int layers = header.getInt(8);
    int heads = header.getInt(12);
    int kvHeads = header.getInt(16);
    int vocabField = header.getInt(20);
    int seqLen = header.getInt(24);
    boolean shared = vocabField > 0;
    int vocab = Math.abs(vocabField);
    String fileShape = "dim=" + dim + " hidden=" + hidden + " layers=" + layers + " heads=" + heads + " kvHeads="
        + kvHeads + " vocab=" + vocab + " seq_len=" + seqLen + (shared ? " shared" : " unshared") + " classifier";
    if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocabField == 0
        || vocabField == Integer.MIN_VALUE || seqLen <= 0 || dim % heads != 0 || heads % kvHeads != 0
        || (dim / heads) % 2 != 0) {
      byte[] bytes = new byte[8];
      header.get(0, bytes);
      throw new CheckpointException(path, "is neither safetensors (an 8-byte header length, then '{') nor a llama2.c "
          + "checkpoint: read as a llama2.c header it says " + fileShape + ", which is no model (bytes "
          + CheckpointIo.hex(bytes) + " ...)");
    }
    String both = "the file has " + fileShape + "; the model has " + s.describe();
    if (dim != s.dim() || hidden != s.hidden() || layers != s.layers() || heads != s.heads()
        || kvHeads != s.kvHeads() || vocab != s.vocab()) {
      throw new CheckpointException(path, "checkpoint is for another model shape: " + both);
    }
    if (shared != s.tiedClassifier()) {
      throw new CheckpointException(path, shared
          ? "checkpoint shares its classifier with the token embedding (positive vocab_size), but the model has an "
              + "untied classifier (lm_head.weight): " + both
          : "checkpoint has a classifier of its own (negative vocab_size, wcls after the RoPE tables), but the model "
              + "ties its classifier to the token embedding: " + both);
    }
    if (seqLen < s.context()) {
      throw new CheckpointException(path, "checkpoint's seq_len=" + seqLen + " is shorter than the model's context="
          + s.context() + " (the model would run at positions the checkpoint was never trained on; a longer seq_len "
          + "is fine): " + both);
    }
    int c = dim;
    int embedding = s.paddedVocab() * c;
    int finalNormEnd = layout.get(indexOf(layout, LlamaLayout.FINAL_NORM)).offset() + c;
    long used = (long) vocab * c;
    long weights = used + (finalNormEnd - embedding);
    long table = (long) seqLen * (dim / heads / 2);
    long classifier = shared ? 0 : used;
    long[] sizes = new long[3]; // with 2, 1, 0 RoPE tables
    int tables = -1;
    for (int k = 2; k >= 0; k--) {
      sizes[2 - k] = LLAMA2C_HEADER_BYTES + (weights + k * table + classifier) * Float.BYTES;
      if (size == sizes[2 - k]) {
        tables = k;
      }
    }
    if (tables < 0) {
      String expected = sizes[0] + " bytes (with both RoPE tables, as run.c expects), " + sizes[1]
          + " (with freq_cis_real only) or " + sizes[2] + " (without them)";
      throw new CheckpointException(path, size < sizes[2]
          ? "file is truncated: it has " + size + " bytes; its header (" + fileShape + ") needs " + expected
          : "file has " + size + " bytes, which its header (" + fileShape + ") does not explain: a llama2.c "
              + "checkpoint of that shape has " + expected);
    }
    float[] scratch = new float[LlamaLayout.count(s)];
    long pos = LLAMA2C_HEADER_BYTES;
    CheckpointIo.readFloats(path, channel, pos, scratch, 0, (int) used); // rows V..Vp stay 0
    pos += used * Float.BYTES;
    CheckpointIo.readFloats(path, channel, pos, scratch, embedding, finalNormEnd - embedding);
    pos += (long) (finalNormEnd - embedding) * Float.BYTES + tables * table * Float.BYTES;
    if (!shared) {
      CheckpointIo.readFloats(path, channel, pos, scratch, finalNormEnd, (int) used);
    }
    return new CheckpointIo.Loaded(scratch, seqLen > s.context()
        ? CheckpointIo.shorterContext(path, "seq_len is " + seqLen, s.context(), " positions") : null);
  }

  private static CheckpointIo.Loaded readSafetensors(Path path, LlamaShape s, List<ParamTensor> layout)
      throws IOException {
    try (Safetensors st = Safetensors.open(path)) {
      String hint = CheckpointIo.shapeHint(st, s.describe());
      boolean hasClassifier = st.tensors().containsKey(LlamaLayout.CLASSIFIER);
      if (hasClassifier && s.tiedClassifier()) {
        throw new CheckpointException(path, "has " + LlamaLayout.CLASSIFIER + ", a classifier of its own, but the "
            + "model ties its classifier to " + LlamaLayout.EMBEDDING + " (" + s.describe() + ")" + hint);
      }
      if (!hasClassifier && !s.tiedClassifier() && st.tensors().containsKey(LlamaLayout.EMBEDDING)) {
        throw new CheckpointException(path, "has no " + LlamaLayout.CLASSIFIER + ": its classifier is tied to "
            + LlamaLayout.EMBEDDING + ", but the model has an untied classifier (" + s.describe() + ")" + hint);
      }
      Map<String, int[]> expected = new LinkedHashMap<>();
      for (ParamTensor t : layout) {
        expected.put(t.name(), isVocabMatrix(t.name()) ? new int[] {s.vocab(), s.dim()} : t.shape());
      }
      Map<String, Safetensors.Tensor> found = CheckpointIo.match(path, st, expected, name -> name,
          name -> IGNORED.matcher(name).matches(), "LLAMA", hint);
      float[] scratch = new float[LlamaLayout.count(s)];
      int c = s.dim();
      int hs = s.headSize();
      for (ParamTensor t : layout) {
        String name = found.get(t.name()).name();
        if (LlamaLayout.ropeHeads(t.name(), s) > 0) {
          float[] stored = st.readFloats(name);
          int rows = t.shape()[0];
          for (int r = 0; r < rows; r++) {
            System.arraycopy(stored, r * c, scratch, t.offset() + llama2cRow(r, hs) * c, c);
          }
        } else {
          st.readFloats(name, scratch, t.offset()); // embedding, classifier: V rows, the padding stays 0
        }
      }
      return new CheckpointIo.Loaded(scratch, null);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Helpers

  private static boolean isVocabMatrix(String name) {
    return name.equals(LlamaLayout.EMBEDDING) || name.equals(LlamaLayout.CLASSIFIER);
  }

  private static int indexOf(List<ParamTensor> layout, String name) {
    for (int i = 0; i < layout.size(); i++) {
      if (layout.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new AssertionError(name);
  }

  /** The layout for {@code s}, after checking that {@code p} has exactly it. */
  private static List<ParamTensor> checkLayout(Parameters p, LlamaShape s, Path path) {
    return CheckpointIo.checkLayout(p, () -> LlamaLayout.tensors(s), "a LLAMA model with " + s.describe(),
        "LlamaLayout", path);
  }
}
