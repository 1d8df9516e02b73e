package dev.unroll.runtime.format;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.Checksum;

/**
 * Writes a file atomically: the body goes to a new temporary file in the same directory, which is forced to
 * the disk and then renamed over the target. Readers see the old file or the whole new one, never a part; a
 * failure deletes the temporary file and leaves the target as it was.
 */
public final class AtomicFile {

  /** Bytes buffered before each write to the channel. */
  public static final int CHUNK_BYTES = 1 << 20;

  private AtomicFile() {}

  /** What writes the file's content. */
  @FunctionalInterface
  public interface Body {
    void writeTo(FileChannel channel) throws IOException;
  }

  /** Writes {@code path} atomically with what {@code body} writes. */
  public static void write(Path path, Body body) throws IOException {
    Path target = path.toAbsolutePath();
    Path dir = target.getParent();
    Path name = target.getFileName();
    if (dir == null || name == null) {
      throw new CheckpointException(path, "is not a path to a file");
    }
    Path tmp = null;
    FileChannel channel = null;
    for (int attempt = 0; channel == null; attempt++) {
      tmp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + ".tmp");
      try {
        channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      } catch (FileAlreadyExistsException e) {
        if (attempt >= 100) {
          throw e;
        }
      }
    }
    try {
      try (FileChannel ch = channel) {
        body.writeTo(ch);
        stallForTests();
        ch.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException | Error e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    forceDirectory(dir);
  }

  /**
   * For tests that kill a process while it writes (a training checkpoint's crash tests): when the system property
   * {@value #STALL_PROPERTY} is a number of milliseconds N > 0, waits N ms between writing the body to the temporary
   * file and forcing and renaming it. Unset, as in every normal run, it costs one property lookup per file.
   */
  private static void stallForTests() {
    long millis = Long.getLong(STALL_PROPERTY, 0);
    if (millis > 0) {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The system property that {@link #stallForTests()} reads. */
  public static final String STALL_PROPERTY = "unroll.test.atomicFileStallMillis";

  /** Makes the rename durable where the platform allows opening a directory; elsewhere does nothing. */
  private static void forceDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException | UnsupportedOperationException notSupported) {
      // Some platforms (Windows) cannot open or sync a directory; the rename itself already happened.
    }
  }

  /** Writes all of {@code buf} (position to limit). */
  public static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }

  /** Buffers little-endian float32 values and writes them to a channel in chunks. */
  public static final class FloatSink {
    private final FileChannel channel;
    private final Checksum checksum;
    private final ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);

    public FloatSink(FileChannel channel) {
      this(channel, null);
    }

    /** A sink that also adds every byte it writes to {@code checksum}, unless that is null. */
    public FloatSink(FileChannel channel, Checksum checksum) {
      this.channel = channel;
      this.checksum = checksum;
    }

    /** Appends {@code n} floats of {@code src} from {@code off}. */
    public void put(float[] src, int off, int n) throws IOException {
      while (n > 0) {
        if (buf.remaining() < Float.BYTES) {
          flush();
        }
        int k = Math.min(n, buf.remaining() / Float.BYTES);
        buf.asFloatBuffer().put(src, off, k);
        buf.position(buf.position() + k * Float.BYTES);
        off += k;
        n -= k;
      }
    }

    /** Appends {@code n} zeros. */
    public void zeros(long n) throws IOException {
      while (n > 0) {
        if (buf.remaining() < Float.BYTES) {
          flush();
        }
        int k = (int) Math.min(n, buf.remaining() / Float.BYTES);
        for (int i = 0; i < k; i++) {
          buf.putFloat(0f);
        }
        n -= k;
      }
    }

    /** Writes what is buffered. */
    public void flush() throws IOException {
      buf.flip();
      if (checksum != null) {
        checksum.update(buf.duplicate());
      }
      writeFully(channel, buf);
      buf.clear();
    }
  }
}
