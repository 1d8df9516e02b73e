package dev.unroll.runtime.format;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * What every fuzz target of a reader of outside bytes checks, for each input the fuzzer (or the checked-in corpus)
 * gives it. The reader either reads the input, or refuses it with one of its own exceptions whose message starts
 * with the file's path and then says what is wrong; and, either way:
 *
 * <ul>
 *   <li>no other exception or error escapes it (an {@code ArrayIndexOutOfBoundsException}, a
 *       {@code NegativeArraySizeException}, an {@code OutOfMemoryError} are findings);
 *   <li>it finishes within {@link #TIMEOUT_SECONDS}: every fuzz test class carries {@link #TIMEOUT_SECONDS} as its
 *       JUnit {@code @Timeout}, in a thread of its own, so that replaying the corpus reports a hang instead of
 *       waiting for it; when fuzzing, Jazzer passes it to libFuzzer as {@code -timeout}, whose watchdog stops the
 *       run and keeps the input as {@code timeout-*} (and {@code fuzz.sh} turns JUnit's own timeouts off, which
 *       would otherwise apply to the whole fuzzing run);
 *   <li>it allocates at most {@code perByte} bytes per byte of the input, plus the model's own arenas
 *       ({@code modelBytes}, given by each target), plus {@link #FIXED_BYTES} (measured on the reading thread with
 *       {@link com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes()}): a length field that claims
 *       2<sup>40</sup> bytes must be refused before anything that size is allocated;
 *   <li>a model it loads into is left bit for bit as it was when the load is refused (the values and gradients
 *       are filled with a known pattern first), and its gradients are never touched.
 * </ul>
 *
 * <p>Each target writes every input to one temporary file of its own, reused from input to input, in the folder the
 * system property {@code unroll.fuzz.dir} names ({@code fuzz.sh} gives a memory file system where there is one:
 * the readers open the file for every input) or else the JDK's temporary folder. One instance per fuzz target; not
 * thread-safe (Jazzer runs a target's inputs one after another).
 */
public final class ReaderFuzzing {

  /**
   * Longest an input may take. Every target reads models of a few thousand parameters and files of a few
   * kilobytes, which take well under a millisecond once compiled; ten seconds leaves room for a first, interpreted
   * run on a machine shared with other builds, and is still far below what a reader stuck in a loop would take.
   */
  public static final long TIMEOUT_SECONDS = 10;

  /**
   * What a read may allocate whatever its input: a file channel, an llm.c or llama2.c header, the layout's list of
   * tensors, the messages of a refusal and the backtrace of its exception. Far below what one oversized length
   * field would ask for.
   */
  public static final long FIXED_BYTES = 256 << 10;

  /**
   * Allocation per input byte that every reader is allowed: a JSON header of n bytes is decoded into a string (up to
   * 2n bytes for UTF-16, after the decoder's buffer) and parsed into maps, lists, strings and numbers, the densest
   * of which ({@code ["","",...]}, {@code [0,0,...]}) cost about 30 bytes of objects per byte of text; a tensor's
   * data of n bytes is read into at most 2n bytes of floats (F16 and BF16 widen). 64 leaves a factor of two.
   */
  public static final long PER_BYTE = 64;

  /**
   * How much looser the allocation bound is while fuzzing. Jazzer's comparison hooks, compiled into the readers only
   * for a fuzzing run, allocate on the reading thread (they copy strings a reader compares, for libFuzzer): enough
   * to take the load of a valid 3 KB GPT-2 safetensors seed past its strict bound (557 KB against 476 KB).
   * The looser bound still catches what the bound is for, a length field that makes a reader allocate what the
   * file does not hold; the replay of the corpus in {@code mvn test}, where the hooks are off, holds every
   * checked-in input and finding to the strict bound.
   */
  private static final long FUZZING_SLACK = fuzzing() ? 16 : 1;

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /** How a target reads the file the input was written to. */
  @FunctionalInterface
  public interface Read {
    void read(Path file) throws Exception;
  }

  private record Outcome(Throwable thrown, long allocated) {}

  private final Path file;
  /** {@link #file} open for writing, kept open: opening and closing it for every input took most of a run's time. */
  private final FileChannel out;
  private final long perByte;
  private final long modelBytes;
  private final List<Class<? extends Exception>> refusals;
  /** Whether a refusal's message must start with the file's path (not for a parser of text, which has none). */
  private final boolean namesFile;

  /**
   * @param name names the temporary file (its suffix)
   * @param perByte allocation allowed per byte of input ({@link #PER_BYTE} unless the format needs more, said where)
   * @param modelBytes the model's own arenas that a load may allocate (scratch arenas, initial parameters), in bytes
   * @param refusals the reader's own exception types
   */
  @SafeVarargs
  public ReaderFuzzing(String name, long perByte, long modelBytes, Class<? extends Exception>... refusals) {
    this(name, true, perByte, modelBytes, refusals);
  }

  /**
   * For a reader of text that knows no file: its refusals need only say what is wrong. The input still goes through
   * {@link #file()}, which the target's {@code read} may ignore.
   */
  public static ReaderFuzzing ofText(String name, long perByte, Class<? extends Exception> refusal) {
    return new ReaderFuzzing(name, false, perByte, 0, refusal);
  }

  @SafeVarargs
  private ReaderFuzzing(String name, boolean namesFile, long perByte, long modelBytes,
      Class<? extends Exception>... refusals) {
    this.namesFile = namesFile;
    try {
      String dir = System.getProperty("unroll.fuzz.dir");
      this.file = dir == null ? Files.createTempFile("unroll-fuzz-", "-" + name)
          : Files.createTempFile(Path.of(dir), "unroll-fuzz-", "-" + name);
      this.out = FileChannel.open(file, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.file.toFile().deleteOnExit();
    this.perByte = perByte;
    this.modelBytes = modelBytes;
    this.refusals = List.of(refusals);
  }

  /** The file every input is written to. */
  public Path file() {
    return file;
  }

  /** Parameters of this layout for a target to load into (the values and gradients are set for each input). */
  public static Parameters model(List<ParamTensor> layout) {
    int count = layout.getLast().offset() + layout.getLast().size();
    return new Parameters(new float[count], new float[count], layout);
  }

  /** What a load tells the user once it has loaded: a line that must start with the file's path. */
  public void notice(String line) {
    if (!line.startsWith(file + ": ")) {
      throw new AssertionError("a load's notice does not start with the file's path: " + line);
    }
  }

  /**
   * Writes {@code input} to {@link #file()}, reads it with {@code read} and checks everything the class comment
   * lists; throws an {@link AssertionError} saying what failed.
   *
   * @param model the parameters {@code read} loads into, or {@code null}
   * @return the reader's refusal, or {@code null} when it read the input
   */
  public Throwable check(byte[] input, Parameters model, Read read) throws IOException {
    out.truncate(0);
    ByteBuffer bytes = ByteBuffer.wrap(input);
    while (bytes.hasRemaining()) {
      out.write(bytes, bytes.position());
    }
    fill(model);
    Outcome first = run(read);
    Throwable thrown = first.thrown();
    if (thrown != null) {
      if (!refusals.contains(thrown.getClass())) {
        throw new AssertionError("a " + input.length + "-byte input made the reader throw " + thrown
            + ", which is not one of its own refusals " + refusals, thrown);
      }
      String m = String.valueOf(thrown.getMessage());
      String prefix = namesFile ? file + ": " : "";
      if (!m.startsWith(prefix) || m.substring(prefix.length()).isBlank()) {
        throw new AssertionError("the refusal's message does not " + (namesFile ? "start with the file's path and "
            + "then " : "") + "say what is wrong: " + m, thrown);
      }
    }
    checkPattern(model, thrown != null);
    long allowed = FUZZING_SLACK * (perByte * input.length + modelBytes + FIXED_BYTES);
    long allocated = first.allocated();
    if (allocated > allowed) {
      // The first read of a path runs class initialisers and links call sites (string concatenations among them),
      // which allocate once per JVM, whatever the file: measure a second read of the same bytes, which does not.
      fill(model);
      allocated = run(read).allocated();
    }
    if (allocated > allowed) {
      throw new AssertionError("reading a " + input.length + "-byte input allocated " + allocated + " bytes, more "
          + "than the " + allowed + " its length justifies (" + (FUZZING_SLACK > 1 ? FUZZING_SLACK + " x (" : "(")
          + perByte + " per byte + " + modelBytes + " for the model + " + FIXED_BYTES + "))"
          + (thrown == null ? "" : "; it was refused: " + thrown));
    }
    return thrown;
  }

  /** Runs {@code read}, measuring what this thread allocates meanwhile. */
  private Outcome run(Read read) {
    long before = THREADS.getCurrentThreadAllocatedBytes();
    Throwable thrown = null;
    try {
      read.read(file);
    } catch (Throwable t) {
      thrown = t;
    }
    return new Outcome(thrown, THREADS.getCurrentThreadAllocatedBytes() - before);
  }

  /** Whether this is a fuzzing run rather than a replay: Jazzer's own test, on its variable or property. */
  private static boolean fuzzing() {
    String value = System.getenv("JAZZER_FUZZ");
    if (value == null) {
      value = System.getProperty("JAZZER_FUZZ");
    }
    return value != null && !value.isEmpty() && !value.equals("0") && !value.equalsIgnoreCase("false");
  }

  /** Fills the values and gradients with {@link #pattern}. */
  private static void fill(Parameters model) {
    if (model == null) {
      return;
    }
    float[] v = model.values();
    float[] g = model.grads();
    for (int i = 0; i < v.length; i++) {
      v[i] = Float.intBitsToFloat(pattern(i, 0));
      g[i] = Float.intBitsToFloat(pattern(i, 1));
    }
  }

  /** Checks the gradients always, and the values too after a refusal, against {@link #pattern}. */
  private static void checkPattern(Parameters model, boolean refused) {
    if (model == null) {
      return;
    }
    float[] v = model.values();
    float[] g = model.grads();
    for (int i = 0; i < v.length; i++) {
      if (refused && Float.floatToRawIntBits(v[i]) != pattern(i, 0)) {
        throw new AssertionError("the load was refused, but parameter " + i + " changed from "
            + Float.intBitsToFloat(pattern(i, 0)) + " to " + v[i]);
      }
      if (Float.floatToRawIntBits(g[i]) != pattern(i, 1)) {
        throw new AssertionError("the load changed gradient " + i + ", which it must not touch");
      }
    }
  }

  /**
   * A float in [1, 2) (or [-2, -1) for the gradients) whose mantissa mixes the index: neither a value a loader
   * writes by default (0) nor a NaN, whose bits a copy may not keep.
   */
  private static int pattern(int i, int which) {
    return (which == 0 ? 0x3f800000 : 0xbf800000) | ((i * 0x9E3779B1 + which) >>> 9);
  }
}
