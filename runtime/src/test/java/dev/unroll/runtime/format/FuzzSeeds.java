package dev.unroll.runtime.format;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.bert.BertCheckpoints;
import dev.unroll.runtime.bert.BertLayout;
import dev.unroll.runtime.bert.BertShape;
import dev.unroll.runtime.gpt2.Gpt2Checkpoints;
import dev.unroll.runtime.gpt2.Gpt2Layout;
import dev.unroll.runtime.gpt2.Gpt2Reference;
import dev.unroll.runtime.gpt2.Gpt2Shape;
import dev.unroll.runtime.llama.LlamaCheckpoints;
import dev.unroll.runtime.llama.LlamaLayout;
import dev.unroll.runtime.llama.LlamaShape;
import dev.unroll.runtime.vit.VitCheckpoints;
import dev.unroll.runtime.vit.VitLayout;
import dev.unroll.runtime.vit.VitShape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * The fuzz targets' shapes and their seed corpus: for each target, a few valid files and a few nearly valid ones (a
 * byte short, another dtype, a tensor missing, a header field changed), made with the runtime's own writers from
 * fixed seeds, so that the corpus can be made again byte for byte. {@code FuzzSeedsTest} checks that the files
 * checked in under {@code src/test/resources/<package>/<Target>Inputs/<method>/seed-*} are these, and rewrites them
 * when {@code UNROLL_UPDATE_FUZZ_SEEDS} is set. Jazzer replays every file of such a folder in the plain test run,
 * findings of a fuzzing run ({@code crash-*}, {@code timeout-*}) beside the seeds.
 *
 * <p>The shapes are tiny, so that one input loads in well under a millisecond and the fuzzer's mutations land on
 * headers and names more often than on float data.
 */
public final class FuzzSeeds {

  private FuzzSeeds() {}

  /** GPT-2: V=5 padded to 8, T=4, C=8, two heads, one layer, hidden 4·C (llm.c's format needs it). */
  public static final Gpt2Shape GPT2 = new Gpt2Shape(5, 8, 4, 8, 2, 1, 1, 32);

  /** Llama: V=5 padded to 8, T=4, C=8, two query heads sharing one key/value head, hidden 12, untied classifier. */
  public static final LlamaShape LLAMA = new LlamaShape(5, 8, 4, 8, 2, 1, 1, 1, 12, false);

  /** BERT: V=7, T=4, C=8, two heads, one layer, hidden 16, two token types, two classes. */
  public static final BertShape BERT = new BertShape(7, 4, 8, 2, 1, 1, 16, 2, 2, false, false);

  /** ViT: one channel of 4×4 in 2×2 patches, C=8, two heads, one layer, hidden 16, two classes. */
  public static final VitShape VIT = new VitShape(1, 4, 4, 2, 2, 8, 2, 1, 1, 16, 2, false, false);

  /** The vocabulary size the llama2.c tokenizer target loads with. */
  public static final int LLAMA2_TOKENIZER_VOCAB = 16;

  /** A fuzz target: its test class's package and simple name, and its method. */
  public record Target(String pkg, String testClass, String method) {

    /** Where Jazzer looks for the target's inputs, under the test resources. */
    public Path folder(Path resources) {
      return resources.resolve(pkg.replace('.', '/')).resolve(testClass + "Inputs").resolve(method);
    }
  }

  /** Every target's seeds: file name (without {@code seed-}) to contents. */
  public static Map<Target, Map<String, byte[]>> all() throws IOException {
    Path dir = Files.createTempDirectory("unroll-fuzz-seeds");
    try {
      Map<Target, Map<String, byte[]>> all = new LinkedHashMap<>();
      String runtime = "dev.unroll.runtime.";
      all.put(new Target(runtime + "format", "SafetensorsFuzzTest", "openAndReadEveryTensor"), safetensors(dir));
      all.put(new Target(runtime + "format", "JsonFuzzTest", "parse"), json(dir));
      all.put(new Target(runtime + "gpt2", "Gpt2CheckpointsFuzzTest", "llmc"), gpt2Llmc(dir));
      all.put(new Target(runtime + "gpt2", "Gpt2CheckpointsFuzzTest", "safetensors"), gpt2Safetensors(dir));
      all.put(new Target(runtime + "llama", "LlamaCheckpointsFuzzTest", "llama2c"), llama2c(dir));
      all.put(new Target(runtime + "llama", "LlamaCheckpointsFuzzTest", "safetensors"), llamaSafetensors(dir));
      all.put(new Target(runtime + "bert", "BertCheckpointsFuzzTest", "safetensors"), bert(dir));
      all.put(new Target(runtime + "vit", "VitCheckpointsFuzzTest", "safetensors"), vit(dir));
      all.put(new Target(runtime.substring(0, runtime.length() - 1), "TrainingCheckpointFuzzTest", "loadCheckpoint"),
          training(dir));
      all.put(new Target(runtime + "tokenizer", "TokenizerFuzzTest", "llama2"), llama2Tokenizer());
      all.put(new Target(runtime + "tokenizer", "TokenizerFuzzTest", "wordPiece"), wordPiece());
      return all;
    } finally {
      try (var files = Files.walk(dir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Checkpoints

  /**
   * Training checkpoints of a GPT-2 of {@link #GPT2}'s shape after one AdamW step (moments not zero): valid; with its
   * step count not a number (the target stamps the checksum anew); of a longer context; a plain model file; cut short.
   */
  private static Map<String, byte[]> training(Path dir) throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    seeds.put("valid", saved(dir, path -> trainedOneStep(GPT2).saveCheckpoint(path, Map.of("trainer.step", "1"))));
    String valid = new String(seeds.get("valid"), StandardCharsets.ISO_8859_1);
    seeds.put("step-not-a-number", valid.replace("\"unroll.adamw.step\":\"1\"", "\"unroll.adamw.step\":\"x\"")
        .getBytes(StandardCharsets.ISO_8859_1));
    Gpt2Shape longer = new Gpt2Shape(5, 8, 6, 8, 2, 1, 1, 32);
    seeds.put("longer-context", saved(dir, path -> trainedOneStep(longer).saveCheckpoint(path, Map.of())));
    seeds.put("plain-model", saved(dir, path -> Gpt2Reference.create(GPT2, 2).save(path)));
    seeds.put("truncated", Arrays.copyOf(seeds.get("valid"), seeds.get("valid").length - 3));
    return seeds;
  }

  /**
   * {@code file} with its checksum made right, when it has one where a checksummed file keeps it ({@link
   * Safetensors#write(Path, Map, List, boolean)}); else as it is: so that a fuzzer's changes to a training checkpoint
   * reach what lies behind its checksum.
   */
  public static byte[] stampChecksum(byte[] file) {
    byte[] prefix = Safetensors.CHECKSUM_PREFIX.getBytes(StandardCharsets.US_ASCII);
    byte[] placeholder = Safetensors.CHECKSUM_PLACEHOLDER.getBytes(StandardCharsets.US_ASCII);
    int at = 8 + prefix.length;
    if (file.length < at + placeholder.length || !Arrays.equals(file, 8, at, prefix, 0, prefix.length)) {
      return file;
    }
    byte[] out = file.clone();
    System.arraycopy(placeholder, 0, out, at, placeholder.length);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(out);
    byte[] digits = String.format("%08x", crc.getValue()).getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(digits, 0, out, at, digits.length);
    return out;
  }

  /** An optimizer of a GPT-2 reference model of shape {@code s} from seed 2, after one step on fixed tokens. */
  private static AdamW trainedOneStep(Gpt2Shape s) {
    Gpt2Reference model = Gpt2Reference.create(s, 2);
    AdamW opt = AdamW.of(model).lr(3e-3f).clipGradNorm(1f);
    int[] x = new int[s.batch() * s.context()];
    int[] y = new int[x.length];
    for (int i = 0; i < x.length; i++) {
      x[i] = i % s.vocab();
      y[i] = (i + 1) % s.vocab();
    }
    model.forward(x, y);
    model.zeroGrad();
    model.backward();
    opt.step();
    return opt;
  }

  private static Map<String, byte[]> gpt2Llmc(Path dir) throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    byte[] valid = saved(dir, path -> Gpt2Checkpoints.saveLlmc(random(Gpt2Layout.tensors(GPT2)), GPT2, path));
    seeds.put("valid", valid);
    Gpt2Shape longer = new Gpt2Shape(5, 8, 6, 8, 2, 1, 1, 32);
    seeds.put("longer-context", saved(dir, path -> Gpt2Checkpoints.saveLlmc(random(Gpt2Layout.tensors(longer)),
        longer, path)));
    Gpt2Shape wider = new Gpt2Shape(5, 12, 4, 8, 2, 1, 1, 32);
    seeds.put("more-padding", saved(dir, path -> Gpt2Checkpoints.saveLlmc(random(Gpt2Layout.tensors(wider)),
        wider, path)));
    seeds.put("truncated", Arrays.copyOf(valid, valid.length - 3));
    seeds.put("version-5", withInt(valid, 4, 5));
    seeds.put("two-layers", withInt(valid, 16, 2));
    return seeds;
  }

  private static Map<String, byte[]> gpt2Safetensors(Path dir) throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    Path valid = file(dir, "gpt2.safetensors");
    Gpt2Checkpoints.saveSafetensors(random(Gpt2Layout.tensors(GPT2)), GPT2, valid);
    seeds.put("valid", Files.readAllBytes(valid));
    seeds.put("hugging-face-names", rewrite(valid, "F32", name -> "transformer." + name, name -> true,
        Map.of("transformer.h.0.attn.bias", new long[] {1, 1, 4, 4}, "lm_head.weight", new long[] {5, 8})));
    seeds.put("f16", rewrite(valid, "F16", name -> name, name -> true, Map.of()));
    seeds.put("bf16", rewrite(valid, "BF16", name -> name, name -> true, Map.of()));
    seeds.put("missing-tensor", rewrite(valid, "F32", name -> name, name -> !name.equals("ln_f.bias"), Map.of()));
    Gpt2Shape longer = new Gpt2Shape(5, 8, 6, 8, 2, 1, 1, 32);
    seeds.put("longer-context", saved(dir, path -> Gpt2Checkpoints.saveSafetensors(
        random(Gpt2Layout.tensors(longer)), longer, path)));
    seeds.put("truncated", Arrays.copyOf(seeds.get("valid"), seeds.get("valid").length - 3));
    return seeds;
  }

  private static Map<String, byte[]> llama2c(Path dir) throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    byte[] valid = saved(dir, path -> LlamaCheckpoints.saveLlama2c(random(LlamaLayout.tensors(LLAMA)), LLAMA, path));
    seeds.put("valid", valid);
    LlamaShape longer = new LlamaShape(5, 8, 6, 8, 2, 1, 1, 1, 12, false);
    seeds.put("longer-context", saved(dir, path -> LlamaCheckpoints.saveLlama2c(
        random(LlamaLayout.tensors(longer)), longer, path)));
    LlamaShape tied = new LlamaShape(5, 8, 4, 8, 2, 1, 1, 1, 12, true);
    seeds.put("tied", saved(dir, path -> LlamaCheckpoints.saveLlama2c(random(LlamaLayout.tensors(tied)), tied,
        path)));
    // Without the two RoPE tables (T x hs/2 floats each) before the classifier: a size run.c's loader accepts too.
    int table = LLAMA.context() * LLAMA.headSize() / 2 * Float.BYTES;
    int classifier = LLAMA.vocab() * LLAMA.dim() * Float.BYTES;
    int tablesAt = valid.length - classifier - 2 * table;
    ByteArrayOutputStream noTables = new ByteArrayOutputStream();
    noTables.write(valid, 0, tablesAt);
    noTables.write(valid, tablesAt + 2 * table, classifier);
    seeds.put("no-rope-tables", noTables.toByteArray());
    seeds.put("truncated", Arrays.copyOf(valid, valid.length - 3));
    seeds.put("export-v1-magic", withInt(valid, 0, 0x616b3432));
    return seeds;
  }

  private static Map<String, byte[]> llamaSafetensors(Path dir) throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    Path valid = file(dir, "llama.safetensors");
    LlamaCheckpoints.saveSafetensors(random(LlamaLayout.tensors(LLAMA)), LLAMA, valid);
    seeds.put("valid", Files.readAllBytes(valid));
    seeds.put("with-inv-freq", rewrite(valid, "F32", name -> name, name -> true,
        Map.of("model.layers.0.self_attn.rotary_emb.inv_freq", new long[] {2})));
    seeds.put("bf16", rewrite(valid, "BF16", name -> name, name -> true, Map.of()));
    seeds.put("tied", rewrite(valid, "F32", name -> name, name -> !name.equals("lm_head.weight"), Map.of()));
    seeds.put("truncated", Arrays.copyOf(seeds.get("valid"), seeds.get("valid").length - 3));
    return seeds;
  }

  private static Map<String, byte[]> bert(Path dir) throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    Path valid = file(dir, "bert.safetensors");
    BertCheckpoints.saveSafetensors(random(BertLayout.tensors(BERT)), BERT, valid);
    seeds.put("valid", Files.readAllBytes(valid));
    seeds.put("base-model", rewrite(valid, "F32", name -> name.replaceFirst("^bert\\.", ""),
        name -> !name.startsWith("classifier."), Map.of("embeddings.position_ids", new long[] {1, 4})));
    BertShape longer = new BertShape(7, 6, 8, 2, 1, 1, 16, 2, 2, false, false);
    seeds.put("longer-context", saved(dir, path -> BertCheckpoints.saveSafetensors(
        random(BertLayout.tensors(longer)), longer, path)));
    seeds.put("f16", rewrite(valid, "F16", name -> name, name -> true, Map.of()));
    seeds.put("truncated", Arrays.copyOf(seeds.get("valid"), seeds.get("valid").length - 3));
    return seeds;
  }

  private static Map<String, byte[]> vit(Path dir) throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    Path valid = file(dir, "vit.safetensors");
    VitCheckpoints.save(random(VitLayout.tensors(VIT)), VIT, valid);
    seeds.put("valid", Files.readAllBytes(valid));
    seeds.put("base-model", rewrite(valid, "F32", name -> name, name -> !name.startsWith("classifier."),
        Map.of("vit.pooler.dense.weight", new long[] {8, 8}, "vit.pooler.dense.bias", new long[] {8})));
    VitShape taller = new VitShape(1, 6, 4, 2, 2, 8, 2, 1, 1, 16, 2, false, false);
    seeds.put("more-positions", saved(dir, path -> VitCheckpoints.save(random(VitLayout.tensors(taller)), taller,
        path)));
    seeds.put("bf16", rewrite(valid, "BF16", name -> name, name -> true, Map.of()));
    seeds.put("truncated", Arrays.copyOf(seeds.get("valid"), seeds.get("valid").length - 3));
    return seeds;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Safetensors and JSON

  private static Map<String, byte[]> safetensors(Path dir) throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    Path gpt2 = file(dir, "gpt2.safetensors");
    Gpt2Checkpoints.saveSafetensors(random(Gpt2Layout.tensors(GPT2)), GPT2, gpt2);
    seeds.put("gpt2", Files.readAllBytes(gpt2));
    // Every dtype, a scalar, an empty tensor and metadata; only the float ones read as floats.
    Path mixed = file(dir, "mixed.safetensors");
    TestFiles.writeRaw(mixed, Map.of("format", "pt"), List.of(
        new TestFiles.Raw("f32", "F32", new long[] {2, 3}, TestFiles.f32(new float[] {1, -2, 3.5f, 0, -0f, 7})),
        new TestFiles.Raw("f16", "F16", new long[] {3}, TestFiles.f16(new float[] {1, 65504, -0.5f})),
        new TestFiles.Raw("bf16", "BF16", new long[] {1, 2}, TestFiles.bf16(new float[] {3, -1e30f})),
        new TestFiles.Raw("scalar", "F32", new long[] {}, TestFiles.f32(new float[] {42})),
        new TestFiles.Raw("empty", "F32", new long[] {0, 3}, new byte[0]),
        new TestFiles.Raw("ids", "I64", new long[] {2}, new byte[16]),
        new TestFiles.Raw("mask", "BOOL", new long[] {3}, new byte[] {1, 0, 1})));
    seeds.put("mixed", Files.readAllBytes(mixed));
    String overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    seeds.put("overlap", raw(overlap, 12));
    String hole = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
    seeds.put("hole", raw(hole, 12));
    String huge = "{\"a\":{\"dtype\":\"F32\",\"shape\":[274877906944],\"data_offsets\":[0,1099511627776]}}";
    seeds.put("claims-2-to-the-40", raw(huge, 8));
    seeds.put("truncated", Arrays.copyOf(seeds.get("mixed"), seeds.get("mixed").length - 1));
    return seeds;
  }

  private static Map<String, byte[]> json(Path dir) throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    Path gpt2 = file(dir, "gpt2.safetensors");
    Gpt2Checkpoints.saveSafetensors(random(Gpt2Layout.tensors(GPT2)), GPT2, gpt2);
    byte[] bytes = Files.readAllBytes(gpt2);
    int n = (int) ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    seeds.put("safetensors-header", Arrays.copyOfRange(bytes, 8, 8 + n));
    seeds.put("values", utf8("{\"a\": [1, -2.5e3, 0.0, 12345678901234567890, true, false, null],\n"
        + "\t\"b\": {\"c\": \"\\u00e9\\n\\\"\\\\\\/\\b\\f\\r\\t\", \"\u00e9\": []}}"));
    seeds.put("deep", utf8("[".repeat(64) + "]".repeat(64)));
    seeds.put("duplicate-key", utf8("{\"a\":1,\"a\":2}"));
    return seeds;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Tokenizers

  private static Map<String, byte[]> llama2Tokenizer() {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    List<String> pieces = List.of("<unk>", "<s>", "</s>", " ", "a", "b", "c", " a", "ab", "abc", "<0x41>", " b",
        "\u00e9", "hello", " world", "!");
    byte[] valid = tokenizer(pieces, 6);
    seeds.put("valid", valid);
    seeds.put("truncated", Arrays.copyOf(valid, valid.length - 2));
    seeds.put("one-token-more", tokenizer(concat(pieces, "xyz"), 6));
    seeds.put("piece-longer-than-max", tokenizer(pieces, 5));
    return seeds;
  }

  private static Map<String, byte[]> wordPiece() {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    String vocab = String.join("\n", "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "un", "##aff", "##able",
        "world", "h", "##\u00e9", "##llo", "\u4f60", ",", "!") + "\n";
    seeds.put("valid", utf8(vocab));
    seeds.put("bom-crlf-blank-end", utf8("\ufeff" + vocab.replace("\n", "\r\n") + "\n\n"));
    seeds.put("repeated-token", utf8(vocab + "the\n"));
    seeds.put("no-sep", utf8(vocab.replace("[SEP]\n", "")));
    seeds.put("empty-line", utf8(vocab.replace("world\n", "\n")));
    byte[] bad = utf8(vocab);
    bad[bad.length - 3] = (byte) 0xC3; // "!" becomes a lone lead byte
    seeds.put("not-utf8", bad);
    return seeds;
  }

  /** llama2.c's tokenizer.bin: max_token_length, then per piece a score, its length and its bytes. */
  private static byte[] tokenizer(List<String> pieces, int maxLength) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(le(maxLength));
    for (int i = 0; i < pieces.size(); i++) {
      byte[] piece = utf8(pieces.get(i));
      out.writeBytes(le(Float.floatToIntBits(i < 3 ? 0f : -i)));
      out.writeBytes(le(piece.length));
      out.writeBytes(piece);
    }
    return out.toByteArray();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Helpers

  /** Writes the corpus: every target's {@code seed-*} files, replacing the ones there; other files stay. */
  public static void write(Path resources) throws IOException {
    for (Map.Entry<Target, Map<String, byte[]>> e : all().entrySet()) {
      Path folder = e.getKey().folder(resources);
      Files.createDirectories(folder);
      try (var old = Files.list(folder)) {
        for (Path p : old.filter(p -> p.getFileName().toString().startsWith("seed-")).toList()) {
          Files.delete(p);
        }
      }
      for (Map.Entry<String, byte[]> seed : e.getValue().entrySet()) {
        Files.write(folder.resolve("seed-" + seed.getKey()), seed.getValue());
      }
    }
  }

  @FunctionalInterface
  private interface Save {
    void save(Path path) throws IOException;
  }

  private static byte[] saved(Path dir, Save save) throws IOException {
    Path path = file(dir, "saved");
    save.save(path);
    return Files.readAllBytes(path);
  }

  private static Path file(Path dir, String name) {
    return dir.resolve(name);
  }

  private static Parameters random(List<ParamTensor> layout) {
    return TestFiles.randomParameters(layout, 1);
  }

  /**
   * The safetensors file {@code src} again with every kept tensor renamed and stored as {@code dtype}, plus zeros
   * for each of {@code extra} (name to shape) as F32.
   */
  private static byte[] rewrite(Path src, String dtype, UnaryOperator<String> rename, Predicate<String> keep,
      Map<String, long[]> extra) throws IOException {
    Function<float[], byte[]> encode = switch (dtype) {
      case "F32" -> TestFiles::f32;
      case "F16" -> TestFiles::f16;
      case "BF16" -> TestFiles::bf16;
      default -> throw new IllegalArgumentException(dtype);
    };
    List<TestFiles.Raw> tensors = new ArrayList<>();
    Map<String, String> metadata;
    try (Safetensors st = Safetensors.open(src)) {
      metadata = st.metadata();
      for (Safetensors.Tensor t : st.tensors().values()) {
        if (keep.test(t.name())) {
          byte[] data = encode.apply(st.readFloats(t.name()));
          tensors.add(new TestFiles.Raw(rename.apply(t.name()), dtype, t.shape(), data));
        }
      }
    }
    extra.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
      long n = Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
      tensors.add(new TestFiles.Raw(e.getKey(), "F32", e.getValue(), new byte[(int) n * Float.BYTES]));
    });
    Path out = src.resolveSibling("rewritten");
    TestFiles.writeRaw(out, metadata, tensors);
    return Files.readAllBytes(out);
  }

  /** A safetensors file of this header and {@code dataBytes} zero bytes of data. */
  private static byte[] raw(String json, int dataBytes) {
    byte[] header = utf8(json);
    return ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length)
        .put(header).array();
  }

  private static byte[] withInt(byte[] bytes, int at, int value) {
    byte[] copy = bytes.clone();
    ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
    return copy;
  }

  private static byte[] le(int value) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> concat(List<String> list, String more) {
    List<String> all = new ArrayList<>(list);
    all.add(more);
    return all;
  }

  /** Writes the corpus under the folder given (default {@code src/test/resources}, run from {@code runtime/}). */
  public static void main(String[] args) {
    try {
      write(Path.of(args.length > 0 ? args[0] : "src/test/resources"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
